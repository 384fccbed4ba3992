'use strict';
// Starts the real amalgamd (build/src/server/amalgamd, or $AMALGAMD) on 127.0.0.1 with port 0 for
// every listener and a fresh data directory, waits (bounded) for DIR/amalgamd.ports, and stops
// only the process it started: SIGTERM, then SIGKILL after a timeout.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const BINARY = process.env.AMALGAMD || path.join(REPO, 'build', 'src', 'server', 'amalgamd');
const READY_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 15000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Amalgamd {
  constructor(extraArgs = []) {
    if (!fs.existsSync(BINARY)) {
      throw new Error(`${BINARY} is missing: run scripts/build.sh amalgamd first`);
    }
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'amalgam-node-'));
    this.dataDir = path.join(this.tmpDir, 'data');
    this.logPath = path.join(this.tmpDir, 'amalgamd.log');
    this.ports = {};
    const logFd = fs.openSync(this.logPath, 'w');
    const args = ['--data-dir', this.dataDir, '--bind', '127.0.0.1', '--http-port', '0',
      '--mongo-port', '0', '--dynamo-port', '0', ...extraArgs];
    this.proc = spawn(BINARY, args, { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    this.exitCode = null;
    this.exitSignal = null;
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
  }

  get pid() { return this.proc.pid; }
  get running() { return this.exitCode === null && this.exitSignal === null; }
  get mongoPort() { return this.ports.mongo; }

  log() {
    try { return fs.readFileSync(this.logPath, 'utf8'); } catch { return ''; }
  }

  uri(params = 'directConnection=true', db = '') {
    return `mongodb://127.0.0.1:${this.mongoPort}/${db}${params ? `?${params}` : ''}`;
  }

  async waitReady(timeoutMs = READY_TIMEOUT_MS) {
    const portsPath = path.join(this.dataDir, 'amalgamd.ports');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`amalgamd exited (code ${this.exitCode}, signal ${this.exitSignal}) ` +
          `before it was ready:\n${this.log()}`);
      }
      if (fs.existsSync(portsPath)) {
        try {
          this.ports = JSON.parse(fs.readFileSync(portsPath, 'utf8'));
          if (this.ports.mongo) return this;
        } catch { /* partially written: retry */ }
      }
      await sleep(20);
    }
    await this.kill();
    throw new Error(`amalgamd was not ready within ${timeoutMs} ms:\n${this.log()}`);
  }

  // SIGTERM our own process; SIGKILL it after `timeoutMs`. Resolves to the exit code (null when
  // it had to be killed). Removes the temporary directory unless AMALGAM_KEEP_TMP is set.
  async stop(timeoutMs = STOP_TIMEOUT_MS) {
    let killed = false;
    if (this.running) {
      this.proc.kill('SIGTERM');
      let timer;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        killed = true;
        await this.kill();
      }
    }
    const code = this.exitCode;
    const log = this.log();
    this.cleanup();
    if (killed) throw new Error(`amalgamd did not exit within ${timeoutMs} ms of SIGTERM:\n${log}`);
    if (code !== 0) throw new Error(`amalgamd exited with ${code} (${this.exitSignal}):\n${log}`);
    return code;
  }

  async kill() {
    if (this.running) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  cleanup() {
    if (!process.env.AMALGAM_KEEP_TMP) fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

async function startAmalgamd(extraArgs = []) {
  const server = new Amalgamd(extraArgs);
  try {
    return await server.waitReady();
  } catch (e) {
    server.cleanup();
    throw e;
  }
}

// A process that exits with the test runner must not leave our server behind.
const live = new Set();
process.once('exit', () => { for (const s of live) if (s.running) s.proc.kill('SIGKILL'); });

async function start(extraArgs = []) {
  const server = await startAmalgamd(extraArgs);
  live.add(server);
  server.exited.then(() => live.delete(server));
  return server;
}

module.exports = { start, REPO, BINARY, sleep };
