// The browser bundle agora-rtm-sdk shipped: one UMD file with every dependency inside, in ES2017
// syntax (old webpack 4 / Babel setups that skip node_modules parse it as it is). A plain
// <script> gets window.AgoraRTM; CommonJS and AMD loaders get the same object as the module.
import { build } from 'esbuild'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'dist/umd')
mkdirSync(outDir, { recursive: true })

const banner = `/*! @plaza/agora-rtm: an agora-rtm-sdk 1.x compatible client for Plaza. MIT. */
(function (root, factory) {
  if (typeof define === 'function' && define.amd) define([], factory);
  else if (typeof module === 'object' && module.exports) module.exports = factory();
  else root.AgoraRTM = factory();
})(typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : this, function () {`
// The module is the AgoraRTM object itself (as agora-rtm-sdk's was), with .default for interop.
const footer = `var AgoraRTM = __plazaAgoraRTM.default;
AgoraRTM.default = AgoraRTM;
return AgoraRTM;
});`

await build({
  entryPoints: [join(root, 'src/index.ts')],
  outfile: join(outDir, 'agora-rtm.js'),
  bundle: true,
  format: 'iife',
  globalName: '__plazaAgoraRTM',
  platform: 'browser',
  target: 'es2017',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  banner: { js: banner },
  footer: { js: footer },
  logLevel: 'warning',
})

// The package is "type": "module"; this folder's bundle is a script/CommonJS file, and Node (and
// webpack 5) must read it as one: require('@plaza/agora-rtm') gets the AgoraRTM object.
writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n')
writeFileSync(
  join(outDir, 'agora-rtm.d.ts'),
  `export * from '../esm/index.js'\nexport { default } from '../esm/index.js'\n`,
)
