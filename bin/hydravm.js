#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

/**
 * Ends the process once stdout and stderr have taken everything written to
 * them. A child's stdio "pipe" from Node or libuv is a socketpair, where
 * every small write (the console writes as the guest prints) takes an
 * skb; a reader slow to drain (a loaded test runner) fills the socket
 * buffer after a few hundred of them, later writes queue in the process,
 * and process.exit drops that queue: the guest's last lines were lost.
 */
function exitWhenFlushed(code) {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exitWhenFlushed, (err) => {
  process.stderr.write(`hydravm: ${err instanceof Error ? err.message : String(err)}\n`);
  exitWhenFlushed(1);
});
