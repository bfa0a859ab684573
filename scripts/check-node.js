// First step of `npm test`: refuse loudly to run on a Node older than the one the project pins.
// An install with scripts disabled leaves no pinned Node on PATH, and the tests would otherwise
// run (and fail in confusing ways) on the machine's old Node.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 24 || (major === 24 && minor < 12)) {
  console.error(
    `arozdfs: Node >= 24.12 is needed, but npm found Node ${process.versions.node} at ${process.execPath}. ` +
      'Run "npm ci" with install scripts enabled (the pinned Node is installed by the "node" package).',
  );
  process.exitCode = 1;
}
