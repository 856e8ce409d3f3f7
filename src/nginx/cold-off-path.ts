/**
 * What the cold check (cold-check.ts) calls off the path of a valid cookie with cookie storage: a
 * storage's record read (shm) and the handing on of a declined cookie's header. A lazy part of its own
 * within the cold part (build/build.mjs compiles it into njsSessionColdOffPath(), declared within
 * njsSessionCold()), which the cold check calls only when it needs them: so the cold part's load,
 * which the njs engine pays on every cold request, does not declare them (a function of a lazy part
 * costs its load ~550 instructions; docs/NOTES.md, issue 14, branch njscold2).
 */

import { type ColdCheckOffPath, storedRecord } from "../core/cold-check";
import { handOnHeader } from "../core/header";

const offPath: ColdCheckOffPath = { storedRecord: storedRecord, handOnHeader: handOnHeader };

export default offPath;
