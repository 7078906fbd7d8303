#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs JOBDIR/job.sh (a shell script; JOBDIR an absolute path, writable) inside a Linux
# guest that has /dev/kvm: QEMU's TCG emulating an AMD EPYC with SVM, kvm_amd npt=1.
# The host's / is visible read-only (so build/ and /usr are there), JOBDIR read-write.
# Prints the outer console; exits with the job's status (124 on timeout).
# Env: TIMEOUT (s, default 600), MEM (default 2G), SMP (default 2), NPT (kvm_amd's npt,
# default 1; 0: shadow paging in the outer KVM).
set -u
JOBDIR=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
OUTER=$("$HERE/build-outer.sh") || exit 2
LOG=$JOBDIR/outer-console.log
timeout "${TIMEOUT:-600}" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu EPYC -smp "${SMP:-2}" -m "${MEM:-2G}" \
  -nographic -no-reboot -nodefaults -serial stdio -monitor none \
  -virtfs local,path=/,mount_tag=hostfs,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$JOBDIR",mount_tag=job,security_model=none,multidevs=remap \
  -kernel "$OUTER/vmlinuz" -initrd "$OUTER/initrd.gz" \
  -append "console=ttyS0 rdinit=/init panic=-1 loglevel=3 nested.jobdir=$JOBDIR nested.npt=${NPT:-1}" \
  </dev/null > "$LOG" 2>&1
rc=$?
cat "$LOG"
[ $rc = 124 ] && exit 124
rc=$(sed -n 's/.*NESTED-JOB-RC=\([0-9]*\).*/\1/p' "$LOG" | tail -n1)
exit "${rc:-125}"
