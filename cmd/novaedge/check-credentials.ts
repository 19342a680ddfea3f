// The checks of a config file that need its key material but no network and no data directory: the
// identity key file (mode 0600, well-formed), the certificate (issued by a trusted CA for this key's
// peer ID, this federation, this member and role, valid now) and the CA files. `novaedge --check`
// runs them, and the daemon runs them before it creates anything, so a certificate for another peer
// ID fails `--check` and fails a start before the data directory exists.
import { agentStartIssues, controllerStartIssues } from '../../node/config/field-paths.ts';
import type { FileConfig } from '../../node/config/file-config.ts';
import { resolveMembershipConfig } from '../../node/config/membership-config.ts';
import { ConfigError, KeyFileError } from '../../node/errors.ts';
import { loadCredentials } from '../../node/identity/credentials.ts';

/** Load and cross-check the credentials `cfg` names at time `nowMs`; throws ConfigError under the file's paths. */
export async function checkFileCredentials(cfg: FileConfig, nowMs: number): Promise<void> {
  const membership = cfg.role === 'controller' ? cfg.controller.membership : cfg.agent.membership;
  const rename = cfg.role === 'controller' ? controllerStartIssues : agentStartIssues;
  try {
    // The key file exists (checked at load), so nothing is created.
    await loadCredentials(resolveMembershipConfig(membership), nowMs);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(rename(err.issues));
    if (err instanceof KeyFileError) throw new ConfigError([{ field: 'node.identityKeyFile', problem: `${err.code}: ${err.message}` }]);
    throw err;
  }
}
