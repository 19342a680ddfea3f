// Where `novactl` looks for a node when neither --socket nor NOVACTL_SOCKET is given.

/** Default admin socket path of a node installed as a system service. */
export const DEFAULT_ADMIN_SOCKET = '/run/novaedge/admin.sock';
