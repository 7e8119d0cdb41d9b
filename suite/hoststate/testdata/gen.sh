#!/bin/sh
# Writes the mountinfo variants from mountinfo_base.txt, each one change
# away from it. mountinfo_base.txt and mountinfo_vm.txt are written by hand
# after real tables; the sysvipc_*.txt were read in a private IPC namespace:
#   unshare --ipc sh -c 'ipcmk -Q; ipcmk -Q; ipcmk -M 4096; ipcmk -S 3;
#     for t in msg shm sem; do cat /proc/sysvipc/$t >sysvipc_$t.txt; done'
set -eu
cd "$(dirname "$0")"

# A tmpfs left mounted (what a mount made without a private / leaves).
{ cat mountinfo_base.txt; echo '412 22 0:77 / /tmp/nsverify-42 rw,relatime shared:401 - tmpfs tmpfs rw,size=1024k,inode64'; } >mountinfo_added.txt
# /boot unmounted.
grep -v ' /boot ' mountinfo_base.txt >mountinfo_removed.txt
# /home remounted read-only.
sed 's|^32 22 253:3 / /home rw,relatime|32 22 253:3 / /home ro,relatime|' mountinfo_base.txt >mountinfo_remounted.txt
# / made private (mount --make-private /).
sed 's|^22 1 253:1 / / rw,relatime shared:1 |22 1 253:1 / / rw,relatime |' mountinfo_base.txt >mountinfo_root_private.txt
# / made a slave (mount --make-slave /) and /run unbindable.
sed -e 's|^22 1 253:1 / / rw,relatime shared:1 |22 1 253:1 / / rw,relatime master:1 |' \
	-e 's|^27 22 0:24 / /run rw,nosuid,nodev,noexec,relatime shared:5 |27 22 0:24 / /run rw,nosuid,nodev,noexec,relatime unbindable |' \
	mountinfo_base.txt >mountinfo_root_slave.txt
# The same table with other mount ids and device numbers, and nothing else.
awk '{ $1 = $1 + 1000; if ($2 != 1) $2 = $2 + 1000; $3 = "0:" NR+900; print }' mountinfo_base.txt >mountinfo_renumbered.txt
