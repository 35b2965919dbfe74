#!/bin/bash
# Host packages the emulated-Xen end-to-end harness needs (clean Debian 12).
# The guest/dom0 packages themselves are fetched by build.sh with
# 'apt-get download' into build/debs/, so apt lists must be up to date.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	qemu-system-x86 \
	gcc libc6-dev \
	binutils \
	cpio \
	xz-utils gzip \
	kmod \
	dpkg \
	grep sed mawk coreutils findutils util-linux
