/**
 * A small HTTP client for the Node package's tests: one request to a server of the test's, with the
 * answer's Set-Cookie lines and a Cookie header made from them, as a browser would send back.
 */

import { request as httpRequest } from "node:http";

export interface Answer {
  status: number;
  body: string;
  setCookies: string[];
  headers: { [name: string]: string | string[] | undefined };
}

export function request(port: number, method: string, path: string, headers: { [name: string]: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent: false }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () =>
        resolve({
          status: incoming.statusCode || 0,
          body: Buffer.concat(chunks).toString("utf8"),
          setCookies: incoming.headers["set-cookie"] || [],
          headers: incoming.headers,
        }),
      );
      incoming.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** "name=value; name2=value2" from Set-Cookie lines (attributes dropped; cleared cookies left out). */
export function cookieHeader(setCookies: string[]): string {
  return setCookies
    .map((line) => line.split(";")[0])
    .filter((pair) => pair.indexOf("=") < pair.length - 1)
    .join("; ");
}
