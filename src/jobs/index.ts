/**
 * Background jobs (uploads, downloads) of the local daemon: queued, run, resumed after a restart,
 * cancelled; progress streamed to the CLI over the control socket. A job never blocks the daemon,
 * and a job's record never claims more than what happened.
 */
export { JobManager, type JobManagerOptions } from './manager.ts';
export * from './types.ts';
