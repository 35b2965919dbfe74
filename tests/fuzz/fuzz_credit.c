// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: qos_parse_credit(), and the mode parsers on the same text. */
#include <errno.h>
#include <stdint.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[QOS_ERR_MAX], *text = fuzz_cstr(data, size);
	__u64 rate = 0, burst = 0;
	__u32 mode;
	int ret;

	ret = qos_parse_credit(text, &rate, &burst, err, sizeof(err));
	if (ret) {
		CHECK(ret == -EINVAL || ret == -ERANGE);
		CHECK(err[0] == '"');
		check_line(err);
	} else {
		/* An interval gives a burst of at least 1; no rate, no burst. */
		if (rate && strchr(text, '@'))
			CHECK(burst >= 1);
		if (!rate)
			CHECK(!burst);
	}

	if (!qos_parse_flush_mode(text, &mode, err, sizeof(err)))
		CHECK(mode <= BLKQOS_FLUSH_EXEMPT);
	else
		check_line(err);
	if (!qos_parse_discard_mode(text, &mode, err, sizeof(err)))
		CHECK(mode <= BLKQOS_DISCARD_BYTES);
	else
		check_line(err);
	free(text);
	return 0;
}
