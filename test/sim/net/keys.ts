// Seeded node identities: the same seed and label give the same Ed25519 key, so the same peer IDs,
// in every run of a seed (peer IDs end up in traces, orders and messages).
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import type { SimRandom } from '../random.ts';

/** The Ed25519 key of `label` under `rand` (32 seed bytes from the fork `key:<label>`). */
export async function seededEd25519Key(rand: SimRandom, label: string): Promise<Ed25519PrivateKey> {
  return (await generateKeyPairFromSeed('Ed25519', rand.fork(`key:${label}`).bytes(32))) as unknown as Ed25519PrivateKey;
}
