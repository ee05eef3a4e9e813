// The names of the client's commands, apart from the client itself: the entry point tells `endpointd get …` from
// the server's flags without loading the client's modules (undici, yaml) when it runs the server.
export const CLIENT_COMMANDS: ReadonlySet<string> = new Set(['get', 'watch', 'bootstrap']);
