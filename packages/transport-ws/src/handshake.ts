/**
 * Mutual authentication with the cluster's shared secret, before any raft message moves:
 *
 *   server → client  Hello   { serverId, serverNonce }
 *   client → server  Proof   { clientId, clientNonce,
 *                              HMAC(secret, "client" | serverNonce | clientId | serverId) }
 *   server → client  Welcome { HMAC(secret, "server" | clientNonce | serverId | clientId) }
 *
 * Fresh random nonces on both sides make a recorded answer useless on another connection, the
 * labels keep one side's MAC from being replayed as the other's, and both ids are inside the MAC,
 * so the client's id is bound to the connection and the client knows it reached the node it
 * dialled. The handshake proves membership; it does not encrypt (use wss:// for that).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { expectFrame, FrameKind, Writer } from './codec.js';

const NONCE_BYTES = 32;
const MAC_BYTES = 32;
/** Handshake frames are a few dozen bytes; anything bigger is not one. */
export const MAX_HANDSHAKE_BYTES = 128;

/** A handshake the other side failed: a wrong MAC, an id that is not a peer, the wrong node. */
export class AuthError extends Error {
  override name = 'AuthError';
}

function idBytes(id: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(id));
  return b;
}

function mac(
  secret: Uint8Array,
  label: 'client' | 'server',
  nonce: Uint8Array,
  proverId: number,
  verifierId: number,
): Uint8Array {
  return createHmac('sha256', secret)
    .update(label)
    .update(nonce)
    .update(idBytes(proverId))
    .update(idBytes(verifierId))
    .digest();
}

/** The accepting side of one connection. */
export class ServerHandshake {
  private readonly nonce: Uint8Array = randomBytes(NONCE_BYTES);
  private readonly secret: Uint8Array;
  private readonly serverId: number;
  private readonly isPeer: (id: number) => boolean;

  constructor(secret: Uint8Array, serverId: number, isPeer: (id: number) => boolean) {
    this.secret = secret;
    this.serverId = serverId;
    this.isPeer = isPeer;
  }

  hello(): Uint8Array {
    const w = new Writer(FrameKind.Hello);
    w.varint(this.serverId);
    w.raw(this.nonce);
    return w.finish();
  }

  /**
   * Checks the client's Proof and returns the id it proved and the Welcome to send back. Throws
   * `FrameError` for a frame that is not a Proof and `AuthError` for a proof that fails.
   */
  verify(frame: Uint8Array): { peerId: number; welcome: Uint8Array } {
    const r = expectFrame(frame, FrameKind.Proof, MAX_HANDSHAKE_BYTES);
    const clientId = r.varint('client id');
    const clientNonce = r.raw(NONCE_BYTES, 'client nonce');
    const proof = r.raw(MAC_BYTES, 'client mac');
    r.end();
    if (clientId === this.serverId || !this.isPeer(clientId)) {
      throw new AuthError(`node ${this.serverId} has no peer ${clientId}`);
    }
    const expected = mac(this.secret, 'client', this.nonce, clientId, this.serverId);
    if (!timingSafeEqual(proof, expected)) {
      throw new AuthError(`peer ${clientId} failed to prove the shared secret`);
    }
    const w = new Writer(FrameKind.Welcome);
    w.raw(mac(this.secret, 'server', clientNonce, this.serverId, clientId));
    return { peerId: clientId, welcome: w.finish() };
  }
}

/** The dialling side of one connection. */
export class ClientHandshake {
  private readonly nonce: Uint8Array = randomBytes(NONCE_BYTES);
  private readonly secret: Uint8Array;
  private readonly clientId: number;
  private readonly serverId: number;

  constructor(secret: Uint8Array, clientId: number, serverId: number) {
    this.secret = secret;
    this.clientId = clientId;
    this.serverId = serverId;
  }

  /** Answers the server's Hello with a Proof. Throws if the server is not the node we dialled. */
  answer(hello: Uint8Array): Uint8Array {
    const r = expectFrame(hello, FrameKind.Hello, MAX_HANDSHAKE_BYTES);
    const serverId = r.varint('server id');
    const serverNonce = r.raw(NONCE_BYTES, 'server nonce');
    r.end();
    if (serverId !== this.serverId) {
      throw new AuthError(`dialled node ${this.serverId} but node ${serverId} answered`);
    }
    const w = new Writer(FrameKind.Proof);
    w.varint(this.clientId);
    w.raw(this.nonce);
    w.raw(mac(this.secret, 'client', serverNonce, this.clientId, this.serverId));
    return w.finish();
  }

  /** Checks the server's Welcome. Throws unless the server holds the secret too. */
  confirm(welcome: Uint8Array): void {
    const r = expectFrame(welcome, FrameKind.Welcome, MAX_HANDSHAKE_BYTES);
    const proof = r.raw(MAC_BYTES, 'server mac');
    r.end();
    const expected = mac(this.secret, 'server', this.nonce, this.serverId, this.clientId);
    if (!timingSafeEqual(proof, expected)) {
      throw new AuthError(`node ${this.serverId} failed to prove the shared secret`);
    }
  }
}
