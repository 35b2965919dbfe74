// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: qos_parse_amount(). First byte picks the unit, the rest is the text. */
#include <errno.h>
#include <stdint.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[QOS_ERR_MAX], buf[24], *text, *end;
	enum qos_unit unit;
	__u64 v = 0, back;
	int ret, n;

	if (!size)
		return 0;
	unit = data[0] % 4;
	text = fuzz_cstr(data + 1, size - 1);
	err[0] = '\0';
	ret = qos_parse_amount(text, unit, &v, err, sizeof(err));
	if (ret) {
		CHECK(ret == -EINVAL || ret == -ERANGE);
		CHECK(err[0] == '"');		/* names the value */
		check_line(err);
	} else {
		/* What prints reads back the same, in every unit. */
		n = qos_format_amount(v, buf, sizeof(buf));
		CHECK(n > 0);
		for (int u = 0; u < 4; u++) {
			CHECK(!qos_parse_amount(buf, u, &back, err, sizeof(err)));
			CHECK(back == v);
		}
	}

	/* Plain digits must agree with strtoull. */
	if (strlen(text) == size - 1 && text[0] >= '0' && text[0] <= '9' &&
	    strspn(text, "0123456789") == strlen(text)) {
		errno = 0;
		unsigned long long ref = strtoull(text, &end, 10);

		if (errno == ERANGE) {
			CHECK(ret == -ERANGE);
		} else {
			CHECK(!ret);
			CHECK(v == ref);
		}
	}
	free(text);
	return 0;
}
