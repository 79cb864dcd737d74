/**
 * The TAP backend is not available, on purpose.
 *
 * A TAP interface is attached to a file descriptor with ioctl(fd, TUNSETIFF)
 * on /dev/net/tun. Node has no ioctl, and this project adds no native
 * addons. `ip tuntap add` makes a persistent tap, but a process must still
 * issue TUNSETIFF on its own descriptor to attach to it. Reading an fd that
 * some privileged helper attached and passed down (QEMU's tap,fd=N) would
 * work without ioctl, but Node can read a character device only on its
 * thread pool with blocking reads, and such a read cannot be cancelled, so
 * the process could not exit while the link is idle. Until the project
 * accepts a native helper, `--netdev tap` fails with this explanation and
 * the socket backend is the way to network VMs.
 */

import { NetBackendError } from './errors.js';

export function tapUnavailable(ifname: string | undefined): NetBackendError {
  return new NetBackendError(
    `--netdev tap${ifname ? `,ifname=${ifname}` : ''}: the TAP backend is not available in HydraVM: attaching to ` +
      `/dev/net/tun needs the TUNSETIFF ioctl, which Node cannot issue without a native addon. ` +
      `Use --netdev socket,listen=127.0.0.1:PORT on one VM and --netdev socket,connect=127.0.0.1:PORT on the other ` +
      `(QEMU's -netdev socket framing, so a QEMU guest can be the peer and bridge to a tap on its side).`,
  );
}
