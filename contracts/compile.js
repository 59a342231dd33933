#!/usr/bin/env node
// Compiles every contracts/src/**/*.sol with the pinned solc-js (package.json) through the
// standard-JSON API and writes one artifact per contract to contracts/build/NAME.json.
//
//   node compile.js                 compile into contracts/build/ (stale *.json removed)
//   node compile.js --out DIR       compile into DIR instead
//   node compile.js --check         compile into a temp dir and fail if contracts/build/
//                                   differs in any byte (missing, extra or changed files)
//
// Artifacts are byte-stable: keys sorted recursively, 2-space indent, trailing newline,
// written atomically (tmp file + rename). Exit status is non-zero on any compiler error.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");
const solc = require("solc");

const ROOT = __dirname;
const SRC_DIR = path.join(ROOT, "src");
const BUILD_DIR = path.join(ROOT, "build");

// Fixed compiler settings; recorded verbatim in every artifact.
const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  viaIR: false,
};

function die(msg) {
  process.stderr.write(`compile.js: ${msg}\n`);
  process.exit(1);
}

// Sorted list of source paths relative to src/, POSIX separators ("test/MerkleHarness.sol").
function listSources(dir, rel = "") {
  let out = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out = out.concat(listSources(path.join(dir, ent.name), r));
    else if (ent.isFile() && ent.name.endsWith(".sol")) out.push(r);
  }
  // Plain code-unit order (same as Python's sorted() for ASCII names).
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// Recursively sort object keys; arrays keep their order.
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]);
    return o;
  }
  return v;
}

function writeAtomic(file, text) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function compile(outDir) {
  if (!fs.existsSync(SRC_DIR)) die(`no source directory ${SRC_DIR}`);
  const files = listSources(SRC_DIR);
  if (files.length === 0) die(`no .sol files under ${SRC_DIR}`);

  const sources = {};
  const hash = crypto.createHash("sha256");
  for (const f of files) {
    const content = fs.readFileSync(path.join(SRC_DIR, f), "utf8");
    sources[`src/${f}`] = { content };
    hash.update(content, "utf8");
  }
  const sourceHash = hash.digest("hex");

  const input = {
    language: "Solidity",
    sources,
    settings: {
      ...SETTINGS,
      outputSelection: {
        "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
      },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));

  let failed = false;
  for (const e of output.errors || []) {
    // formattedMessage already starts with the type ("ParserError:", "Warning:", ...).
    process.stderr.write(`${(e.formattedMessage || `${e.type}: ${e.message}`).trimEnd()}\n`);
    if (e.severity === "error") failed = true;
  }
  if (failed) die("compilation failed");

  const version = solc.version();
  const artifacts = new Map();
  for (const unit of Object.keys(output.contracts || {}).sort()) {
    for (const name of Object.keys(output.contracts[unit]).sort()) {
      if (artifacts.has(name)) die(`contract name ${name} defined twice (${unit})`);
      const c = output.contracts[unit][name];
      artifacts.set(name, {
        contractName: name,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        compiler: { version, settings: SETTINGS },
        sourceHash,
      });
    }
  }
  if (artifacts.size === 0) die("no contracts produced");

  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, art] of artifacts) {
    writeAtomic(path.join(outDir, `${name}.json`), `${JSON.stringify(sortKeys(art), null, 2)}\n`);
  }
  // Remove artifacts of contracts that no longer exist.
  for (const f of fs.readdirSync(outDir)) {
    if (f.endsWith(".json") && !artifacts.has(f.slice(0, -5))) fs.unlinkSync(path.join(outDir, f));
  }
  return [...artifacts.keys()];
}

function check() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flexemu-artifacts-"));
  try {
    compile(tmp);
    const want = fs.readdirSync(tmp).filter((f) => f.endsWith(".json")).sort();
    const have = fs.existsSync(BUILD_DIR)
      ? fs.readdirSync(BUILD_DIR).filter((f) => f.endsWith(".json")).sort()
      : [];
    const problems = [];
    for (const f of want) {
      if (!have.includes(f)) problems.push(`missing build/${f}`);
      else if (!fs.readFileSync(path.join(tmp, f)).equals(fs.readFileSync(path.join(BUILD_DIR, f))))
        problems.push(`stale build/${f}`);
    }
    for (const f of have) if (!want.includes(f)) problems.push(`extra build/${f}`);
    if (problems.length) {
      die(`committed artifacts differ from a fresh compile:\n  ${problems.join("\n  ")}\n` +
          "run `node contracts/compile.js` and commit contracts/build/");
    }
    process.stdout.write(`artifacts up to date (${want.length} contracts, solc ${solc.version()})\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function main(argv) {
  if (argv.includes("--check")) return check();
  const i = argv.indexOf("--out");
  const outDir = i >= 0 ? path.resolve(argv[i + 1] || die("--out needs a directory")) : BUILD_DIR;
  const names = compile(outDir);
  process.stdout.write(`compiled ${names.length} contracts with solc ${solc.version()} -> ${outDir}\n`);
}

main(process.argv.slice(2));
