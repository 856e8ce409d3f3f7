/** The package's entry point "njs-session/express": re-exports only. */
export { expressSessions } from "./middleware/express";
