/**
 * What `hydravm qmp` and `hydravm stats` share when they talk to a node: which
 * errors are the user's or the node's (reported, exit 1) rather than bugs, and
 * a reply deadline, since QmpClient.execute waits as long as the socket lives.
 */
import { QmpClient, QmpClientError } from '../control/qmp-client.js';
import { QmpAddressError } from '../control/qmp-address.js';
import { QmpError } from '../control/qmp-protocol.js';

/** A failure to report on stderr: a bad address, a dead or silent peer, or a QMP error reply. */
export function isQmpFailure(err: unknown): err is QmpAddressError | QmpClientError | QmpError {
  return err instanceof QmpAddressError || err instanceof QmpClientError || err instanceof QmpError;
}

/** client.execute, failing with a QmpClientError when no reply comes within timeoutMs. */
export function executeWithin(client: QmpClient, command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QmpClientError(`no reply to ${command} from ${client.address} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([client.execute(command, args), deadline]).finally(() => clearTimeout(timer));
}
