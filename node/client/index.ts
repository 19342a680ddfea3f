// Public surface of the remote client: createClient drives a federation through its controllers'
// remote admin protocol with an operator or viewer certificate (docs/remote-clients.md).
export { createClient, NovaEdgeClient, CLIENT_ENDPOINTS_MAX, type ClientOptions } from './client.ts';
export { loadClientCredentials, ClientCredentialError, type ClientCredentialFiles, type ClientCredentials } from './client-credentials.ts';
export { RemoteDialer, endpointMultiaddr, REMOTE_DIAL_TIMEOUT_MS, type RemoteDialerOptions } from './remote-dialer.ts';
export { AdminCallError, type ClientErrorCode } from '../admin/admin-client.ts';
export type * from '../admin/controller-api.ts';
