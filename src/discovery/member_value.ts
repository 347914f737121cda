/**
 * The etcd membership contract: key `GroupCache/<host>:<grpcPort>` and the value of etcd's endpoints
 * manager, `{"Op":0,"Addr":"<host>:<grpcPort>","Metadata":{"http":"http://<host>:<httpPort>"}}`, so that
 * gRPC clients resolving `etcd:///GroupCache` find the nodes too.
 * @module
 */
import type { PeerAddress } from "../config.ts";
import { MEMBER_PREFIX } from "../protocol.ts";

/** The endpoints manager's "add" operation; any other Op is not a live endpoint. */
const OP_ADD = 0;

/**
 * The etcd key of a member.
 *
 * @param grpc The member's gRPC host:port.
 * @returns `GroupCache/<host>:<grpcPort>`.
 * @example
 * ```ts
 * memberKey("127.0.0.1:9999"); // "GroupCache/127.0.0.1:9999"
 * ```
 */
export function memberKey(grpc: string): string {
  return MEMBER_PREFIX + grpc;
}

/**
 * Encodes a member as an endpoints-manager value.
 *
 * @param member The member's HTTP base URL and gRPC address.
 * @returns The JSON stored under {@linkcode memberKey}.
 * @example
 * ```ts
 * encodeMember({ http: "http://127.0.0.1:2222", grpc: "127.0.0.1:9999" });
 * // '{"Op":0,"Addr":"127.0.0.1:9999","Metadata":{"http":"http://127.0.0.1:2222"}}'
 * ```
 */
export function encodeMember(member: { http: string; grpc: string }): string {
  return JSON.stringify({ Op: OP_ADD, Addr: member.grpc, Metadata: { http: member.http } });
}

/**
 * Decodes an endpoints-manager value into a peer address.
 *
 * @param value The JSON read from etcd.
 * @returns The member, or a string naming what is wrong with the value.
 * @example
 * ```ts
 * decodeMember('{"Op":0,"Addr":"127.0.0.1:9999","Metadata":{"http":"http://127.0.0.1:2222"}}');
 * // { http: "http://127.0.0.1:2222", grpc: "127.0.0.1:9999" }
 * ```
 */
export function decodeMember(value: string): PeerAddress | string {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    return "the value is not JSON";
  }
  if (!doc || typeof doc !== "object") return "the value is not a JSON object";
  const { Op, Addr, Metadata } = doc as Record<string, unknown>;
  if (Op !== OP_ADD) return `Op is ${JSON.stringify(Op)}, expected ${OP_ADD}`;
  if (typeof Addr !== "string" || !/^[^\s/]+:\d{1,5}$/.test(Addr)) return "Addr is not host:port";
  const http = (Metadata as Record<string, unknown> | null | undefined)?.http;
  if (typeof http !== "string") return "Metadata.http is missing";
  try {
    const url = new URL(http);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
    return { http: url.origin, grpc: Addr };
  } catch {
    return "Metadata.http is not an http:// URL";
  }
}
