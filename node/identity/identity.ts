// The node identity: an Ed25519 key whose public half is the node's libp2p peer ID.

import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadOrCreateKeyFile } from './key-file.ts';

/** A loaded node identity. */
export interface NodeIdentity {
  /** The private key (used by libp2p for Noise and gossip signatures). */
  privateKey: Ed25519PrivateKey;
  /** The peer ID derived from it. */
  peerId: PeerId;
  /** True when the key file did not exist and was created now. */
  created: boolean;
}

/** Load the identity key file at `path`, creating it (mode 0600) when missing; throws KeyFileError. */
export async function loadOrCreateIdentity(path: string): Promise<NodeIdentity> {
  const { key, created } = await loadOrCreateKeyFile(path, 'novaedge/identity-key');
  return { privateKey: key, peerId: peerIdFromPrivateKey(key), created };
}

/** An identity for an in-memory key (embedding programs and tests that manage keys themselves). */
export function identityFromKey(privateKey: Ed25519PrivateKey): NodeIdentity {
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), created: false };
}
