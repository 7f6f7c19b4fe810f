// Builds the playground into dist/: index.html, playground.js and .css, the
// three Monaco workers, and the fonts the CSS names. dist/README is kept:
// it is committed so that web.go's go:embed has something to embed before
// the first build.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';

const out = 'dist';
await mkdir(out, { recursive: true });
for (const name of await readdir(out)) {
  if (name !== 'README') await rm(`${out}/${name}`, { recursive: true, force: true });
}

const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  target: ['es2022'],
  outdir: out,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};

await build({
  ...common,
  entryPoints: { playground: 'src/main.jsx' },
  format: 'esm',
  jsx: 'automatic',
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'dataurl' },
  assetNames: '[name]-[hash]',
});

await build({
  ...common,
  entryPoints: {
    'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
    'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
    'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
  },
  format: 'iife',
});

// index.html last: build-web.sh takes it as the stamp of a finished build.
await copyFile('src/index.html', `${out}/index.html`);
