import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aptArgs, aptConfText, parseDeb822Sources, parseOneLineSources, pickArchiveUri, privateAptConfig } from '../../src/image/apt-sources.js';
import { ImageBuildError } from '../../src/image/errors.js';

const deb822 = `Types: deb
# a comment inside the stanza
URIs: http://mirror.example.org/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://disabled.example.org/debian
Suites: trixie
`;

test('deb822: deb stanzas only, comments ignored, disabled skipped', () => {
  const s = parseDeb822Sources(deb822, 'x.sources');
  assert.deepEqual(s.map((x) => [x.uri, x.suites]), [
    ['http://mirror.example.org/debian/', ['bookworm', 'bookworm-updates']],
    ['http://security.example.org/debian-security', ['bookworm-security']],
  ]);
  assert.equal(pickArchiveUri(s), 'http://mirror.example.org/debian');
});

test('one-line sources.list fallback, with options and comments', () => {
  const s = parseOneLineSources(
    '# deb http://old.example.org/debian buster main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example.org/debian bookworm main contrib\ndeb http://one.example.org/debian-security bookworm-security main\n',
    'sources.list',
  );
  assert.equal(s.length, 2);
  assert.equal(pickArchiveUri(s), 'http://one.example.org/debian');
});

test('no usable archive: typed error that says what to do', () => {
  assert.throws(
    () => pickArchiveUri(parseDeb822Sources('Types: deb\nURIs: http://s.example.org/x\nSuites: bookworm-security\n', 'f')),
    (e) => e instanceof ImageBuildError && e.code === 'no-archive' && /--kernel IMAGE --initrd FILE/.test(e.message),
  );
});

test('private apt config: own dirs, riscv64, trixie source signed by the Debian keyring', () => {
  const cfg = privateAptConfig('/c/apt', 'http://mirror.example.org/debian');
  assert.match(cfg.sources, /^URIs: http:\/\/mirror\.example\.org\/debian$/m);
  assert.match(cfg.sources, /^Suites: trixie$/m);
  assert.match(cfg.sources, /^Architectures: riscv64$/m);
  assert.match(cfg.sources, /^Signed-By: \/usr\/share\/keyrings\/debian-archive-keyring\.gpg$/m);
  const args = aptArgs(cfg);
  for (const want of ['Dir::State=/c/apt/state', 'Dir::Cache=/c/apt/cache', 'Dir::Etc=/c/apt/etc', 'APT::Architecture=riscv64', 'Dir::State::status=/c/apt/state/status']) {
    assert.ok(args.includes(want), `missing -o ${want}`);
  }
  assert.ok(!args.some((a) => a.startsWith('Dir::') && !a.includes('=/c/apt/')), 'every Dir:: option points into the private tree');
  assert.match(aptConfText(cfg), /^APT::Architecture "riscv64";$/m);
  assert.match(privateAptConfig('/c/apt', 'http://m/debian', { trusted: true }).sources, /^Trusted: yes$/m);
});
