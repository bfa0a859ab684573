/**
 * Limits of the cluster port, in one place. Windows are raised from HTTP/2's 64 KiB so large chunk
 * streams run near TLS speed, yet sized so one session's buffered data stays bounded: a reader that
 * pauses holds at most the stream window per stream (a download's 4 streams: 16 MiB, was 32 MiB with
 * 8 MiB windows), and on loopback 2–4 MiB streams as fast (bench:transport: 98–109 % of the plain TLS
 * pipeline with 2 MiB, 99 % with 8 MiB). Not 2 MiB: with a 2 MiB stream window a client that sends a
 * put's body at once (no "100 Continue") had its stream reset (ENHANCE_YOUR_CALM) before it could read
 * the 507 answer (test/node/api-faults.test.ts).
 */
import { MiB } from '../index-file/types.ts';

export const LIMITS = {
  /** Per-stream flow-control window the server gives (a put's bytes a client may have in flight). */
  streamWindow: 4 * MiB,
  /**
   * Per-stream window the client gives (a get's bytes a node may send ahead of our reads). A download
   * runs 4 gets at once, each holding its unread bytes in the socket reads' Buffers: at 4 MiB the
   * downloader's malloc heap grew by 45–75 MiB over a 1 GiB download, at 2 MiB by 20–25, at the same
   * speed on loopback (docs/transfer.md, "Memory").
   */
  clientStreamWindow: 2 * MiB,
  /** Per-session (connection) window. */
  sessionWindow: 16 * MiB,
  /** nghttp2's cap on a session's buffered memory, in MB. */
  maxSessionMemoryMB: 64,
  maxConcurrentStreams: 32,
  maxHeaderListSize: 16 * 1024,
  maxHeaderListPairs: 64,
  /** Largest JSON request or response body. */
  maxJsonBody: 64 * 1024,
  /** TLS handshake must complete within this time (from the TCP accept; trickled bytes do not extend it). */
  handshakeTimeoutMs: 5_000,
  /** A client that negotiated no ALPN is closed after this time. */
  unknownProtocolTimeoutMs: 500,
  /** An idle session is closed after this time. */
  sessionIdleMs: 120_000,
  /** TLS handshakes in progress, across all clients (when full, the busiest source's oldest is dropped). */
  maxHandshakesInFlight: 64,
  /** TLS handshakes in progress from one source address or IPv6 /64 (when full, its oldest is dropped). */
  maxHandshakesPerSource: 8,
  /** A request (or a stream that makes no progress) is abandoned after this time. */
  requestTimeoutMs: 30_000,
  /** Dialling (TCP + TLS) must complete within this time. */
  connectTimeoutMs: 5_000,
} as const;
