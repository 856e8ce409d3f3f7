/**
 * The lua-resty-session 4.x cookie format, field by field.
 *
 *   [ HEADER ------------------------------------------------------------------------------------ ] [ PAYLOAD ]
 *   [ Type | Flags | Session ID | Creation Time | Rolling Offset | Data Size | Tag | Idling Offset | MAC ] [ Data ]
 *   [ 1 B  | 2 B   | 32 B       | 5 B           | 4 B            | 3 B       | 16 B| 3 B           | 16 B] [ * B  ]
 *
 * Integers are little endian. The header is base64url encoded without padding (110 characters) and is
 * followed, for cookie storage, by the base64url encoded AES-256-GCM ciphertext. `Data Size` is the
 * length of that base64url TEXT, not of the raw ciphertext.
 *
 *   AAD for AES-GCM ........ header[0, 47)   type .. data size
 *   "touch" prefix ......... header[0, 63)   everything a touch keeps (it only rewrites idling offset + MAC)
 *   MAC input .............. header[0, 66)   (plus "#" + SHA-256 of the bound request attributes, if bound)
 */

// The derived values below are literals, their derivation in a comment (test/unit/format.test.ts holds
// them together): the bundler keeps a constant computed from others in every part that imports this
// file, used or not (it cannot tell the expression is free of side effects), and the njs engine pays
// each on every request that loads a part.
export const COOKIE_TYPE_SIZE = 1;
export const FLAGS_SIZE = 2;
export const SID_SIZE = 32;
export const CREATION_TIME_SIZE = 5;
export const ROLLING_OFFSET_SIZE = 4;
export const DATA_SIZE_SIZE = 3;
export const TAG_SIZE = 16;
export const IDLING_OFFSET_SIZE = 3;
export const MAC_SIZE = 16;

export const FLAGS_OFFSET = 1; // COOKIE_TYPE_SIZE
export const SID_OFFSET = 3; // FLAGS_OFFSET + FLAGS_SIZE
export const CREATION_TIME_OFFSET = 35; // SID_OFFSET + SID_SIZE
export const ROLLING_OFFSET_OFFSET = 40; // CREATION_TIME_OFFSET + CREATION_TIME_SIZE
export const DATA_SIZE_OFFSET = 44; // ROLLING_OFFSET_OFFSET + ROLLING_OFFSET_SIZE
export const TAG_OFFSET = 47; // DATA_SIZE_OFFSET + DATA_SIZE_SIZE
export const IDLING_OFFSET_OFFSET = 63; // TAG_OFFSET + TAG_SIZE
export const MAC_OFFSET = 66; // IDLING_OFFSET_OFFSET + IDLING_OFFSET_SIZE

/** Bytes authenticated by AES-GCM as additional data. */
export const HEADER_AAD_SIZE = 47; // TAG_OFFSET
/** Bytes a touch keeps unchanged. */
export const HEADER_TOUCH_SIZE = 63; // IDLING_OFFSET_OFFSET
/** Bytes covered by the MAC. */
export const HEADER_MAC_INPUT_SIZE = 66; // MAC_OFFSET
export const HEADER_SIZE = 82; // MAC_OFFSET + MAC_SIZE
/** base64url without padding of 82 bytes. */
export const HEADER_ENCODED_SIZE = 110;

export const COOKIE_TYPE = 1;

export const FLAG_STORAGE = 0x0001;
export const FLAG_FORGET = 0x0002;
export const FLAG_DEFLATE = 0x0010;
export const FLAG_BIND_IP = 0x0100;
export const FLAG_BIND_SCHEME = 0x0200;
export const FLAG_BIND_USER_AGENT = 0x0400;
/** The flags that bind a session to request attributes: any of them set means the MAC covers them. */
export const FLAG_BIND_ANY = 0x0700; // FLAG_BIND_IP | FLAG_BIND_SCHEME | FLAG_BIND_USER_AGENT
/** Every flag the format defines; a header with any other bit set is refused. */
export const KNOWN_FLAGS = 0x0713; // FLAG_STORAGE | FLAG_FORGET | FLAG_DEFLATE | FLAG_BIND_IP | FLAG_BIND_SCHEME | FLAG_BIND_USER_AGENT

/** A browser keeps at least 4096 bytes per cookie (name + "=" + value). */
export const MAX_COOKIE_SIZE = 4096;
/** The most cookies one session may be split into (name, name2 .. name9). */
export const MAX_COOKIES = 9;
export const MAX_COOKIES_SIZE = 36864; // MAX_COOKIES * MAX_COOKIE_SIZE

export const MAX_CREATION_TIME = 0xffffffffff; // 2 ** (CREATION_TIME_SIZE * 8) - 1
export const MAX_ROLLING_OFFSET = 0xffffffff; // 2 ** (ROLLING_OFFSET_SIZE * 8) - 1
export const MAX_IDLING_OFFSET = 0xffffff; // 2 ** (IDLING_OFFSET_SIZE * 8) - 1
export const MAX_DATA_SIZE = 0xffffff; // 2 ** (DATA_SIZE_SIZE * 8) - 1
/** Longest cookie lifetime browsers honour (RFC 6265bis: 400 days). */
export const MAX_TTL = 34560000;

/** Size of the HMAC-SHA256 key and of the AES-256 key. */
export const KEY_SIZE = 32;
/** AES-256 key followed by a 12-byte GCM IV. */
export const KEY_AND_IV_SIZE = 44;
export const IV_SIZE = 12;

/** PBKDF2 iterations per `remember_safety`; "None" means HKDF like the session cookie. */
export const REMEMBER_SAFETY_ITERATIONS: { [safety: string]: number } = {
  None: 0,
  Low: 1000,
  Medium: 10000,
  High: 100000,
  "Very High": 1000000,
};
