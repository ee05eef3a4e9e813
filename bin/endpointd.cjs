#!/usr/bin/env -S node --max-semi-space-size=16 --min-semi-space-size=8
// The `endpointd` command (package.json "bin", and what `npm start` runs): checks the Node.js version first — in
// syntax every Node can read — then runs src/main.ts in a checkout, or dist/main.js after a build. Run by a Node
// older than endpointd needs, it hands over to the checkout's own Node 24 (the node@24 devDependency) when there is
// one, and otherwise stops with one line naming the version it needs.
// The Node flags endpointd runs with (also in the shebang above, package.json's start script and the Dockerfile's
// ENTRYPOINT; test/launcher-flags.test.ts holds them together). --max-semi-space-size=16 (MB): V8 otherwise grows the
// young generation to 64 MB semi-spaces while the first list is converted, and those pages stay resident, empty,
// for the life of the process (~110 MB of RSS at 10,000 Services). Smaller caps save little more and cost CPU in
// scavenges: at 8 MB a change to 10,000 Watch streams took ~25 % more CPU, at 4 MB a third (docs/benchmarks.md).
// --min-semi-space-size=8 (MB): the heap compaction before ready (src/observability/heap-compaction.ts) leaves the
// young generation at V8's 1 MB start, and under load V8 took ~10 s to grow it back: the first seconds of REST
// lookups cost up to twice the CPU a request (bench/README.md, "rest-lookup"). Empty semi-spaces are not resident:
// idle and 10,000-Service RSS did not move (bench/kube-memory.ts, 108-110 MB and 209 vs 221 MB).
'use strict';
var NODE_FLAGS = ['--max-semi-space-size=16', '--min-semi-space-size=8'];
var childProcess = require('child_process');
var fs = require('fs');
var path = require('path');
var url = require('url');

var root = path.join(__dirname, '..');
var minimum = String(require(path.join(root, 'package.json')).engines.node).replace(/^>=\s*/, '');

function older(version, than) {
  var have = version.split('.').map(Number);
  var need = than.split('.').map(Number);
  for (var i = 0; i < need.length; i++) {
    if ((have[i] || 0) !== (need[i] || 0)) return (have[i] || 0) < (need[i] || 0);
  }
  return false;
}

if (older(process.versions.node, minimum)) {
  var pinned = path.join(root, 'node_modules', 'node', 'bin', 'node');
  if (fs.existsSync(pinned) && path.resolve(process.execPath) !== path.resolve(pinned)) {
    var child = childProcess.spawn(pinned, NODE_FLAGS.concat([__filename], process.argv.slice(2)), {
      stdio: 'inherit',
    });
    ['SIGINT', 'SIGTERM', 'SIGHUP'].forEach(function (signal) {
      process.on(signal, function () {
        child.kill(signal);
      });
    });
    child.on('exit', function (code, signal) {
      process.exitCode = code === null ? 128 + (require('os').constants.signals[signal] || 1) : code;
    });
  } else {
    process.stderr.write(
      'endpointd needs Node.js >= ' +
        minimum +
        ', but this is Node.js v' +
        process.versions.node +
        ': install Node.js 24, or run it through npm in a checkout (npm start, npx endpointd), which uses the node@24 devDependency\n',
    );
    process.exitCode = 1;
  }
} else {
  // Node's compile cache: the compiled code of endpointd's modules is kept on disk (NODE_COMPILE_CACHE, else the
  // system's temporary directory) and reused by the next start, which then loads its modules in ~40% less time.
  // A directory it cannot write only means no cache.
  var moduleApi = require('module');
  if (typeof moduleApi.enableCompileCache === 'function') moduleApi.enableCompileCache();
  var source = path.join(root, 'src', 'main.ts');
  var entry = fs.existsSync(source) ? source : path.join(root, 'dist', 'main.js');
  import(url.pathToFileURL(entry).href).then(
    function (main) {
      return main.runCommandLine(process.argv.slice(2));
    },
    function (error) {
      process.stderr.write('endpointd: cannot load ' + entry + ': ' + (error && error.message) + '\n');
      process.exitCode = 1;
    },
  );
}
