// The layer order of src/, top to bottom, and the rules that hold it.
// docs/structure.md gives the reason for each place in the order.
// `npm run check:layers` runs this before the unit tests (`npm test`).
//
// A folder may import folders in lower layers only, type imports included.
// Two folders in one layer may not import each other, except where ALLOWED
// lists the import with its reason.

/** Top to bottom; one entry is one layer, folders in one layer are peers. */
const LAYERS = [
  ['cli'],
  ['compose'],
  ['snapshot'],
  ['node'],
  ['control'],
  ['cluster'],
  ['devices', 'sbi'],
  ['dsm'],
  ['image'],
  ['router'],
  ['transport'],
  ['disasm', 'machine', 'bus'],
  ['jit'],
  ['core'],
];

/** Imports against the order that are allowed for now, each with its reason. */
const ALLOWED = [];

const folders = (layer) => `^src/(${layer.join('|')})/`;

function layerRules() {
  const rules = [];
  LAYERS.forEach((layer, i) => {
    const above = LAYERS.slice(0, i).flat();
    for (const folder of layer) {
      const forbidden = [...above, ...layer.filter((f) => f !== folder)];
      if (forbidden.length === 0) continue;
      const excepted = ALLOWED.filter((a) => a.from.startsWith(`^src/${folder}/`));
      const comment = `src/${folder} may import only layers below it (docs/structure.md), not ${forbidden.join(', ')}`;
      rules.push({
        name: `layer-${folder}`,
        comment,
        severity: 'error',
        from: { path: folders([folder]), pathNot: excepted.map((a) => a.from) },
        to: { path: folders(forbidden) },
      });
      // a file with an allowed exception may still import nothing else upward
      for (const a of excepted) {
        rules.push({
          name: `layer-${folder}`,
          comment: `${comment}; excepted: ${a.to} (${a.reason})`,
          severity: 'error',
          from: { path: a.from },
          to: { path: folders(forbidden), pathNot: a.to },
        });
      }
    }
  });
  return rules;
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules(),
    {
      name: 'no-folder-outside-layers',
      comment: 'every folder of src/ has a place in LAYERS (add a new folder there with its reason in docs/structure.md)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: folders(LAYERS.flat()) },
    },
    {
      name: 'no-test-code-in-src',
      comment: 'test doubles live under test/; src/ must not import them',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'no-circular',
      comment: 'a cycle between files, even inside one folder, means two concepts that should be one or a missing interface',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      comment: 'an import that resolves to nothing is a typo or a missing dependency',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // type-only imports count: a type import upward is still a cycle between folders
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    exclude: { path: '^src/control/dashboard/static/' },
  },
};
