export { loadHosts, loadHostsFile, readHostsFile, HostsFileError, MAX_HOSTS_FILE_BYTES, type LoadedHosts } from './load';
export { HostsFileSchema, type HostsFile, type HostsFileInput, type HostEntry } from './schema';
