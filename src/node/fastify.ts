/** The package's entry point "njs-session/fastify": re-exports only. */
export { fastifySessions } from "./middleware/fastify";
