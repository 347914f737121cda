/**
 * The .proto files of proto/ as `google.protobuf.FileDescriptorProto` messages, the form gRPC server
 * reflection sends: one per file, named as it is imported ("groupcache.proto",
 * "google/protobuf/timestamp.proto"), with its dependencies listed and every type name fully qualified,
 * as protoc would write them.
 * @module
 */
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor";

/** A plain FileDescriptorProto, in protobufjs's JSON field names. */
interface FileProto {
  name: string;
  package: string;
  dependency: string[];
  messageType: unknown[];
  enumType: unknown[];
  service: unknown[];
  syntax: "proto3";
}

/** One file: its name, the names of the files it imports, and its encoded FileDescriptorProto. */
export interface ProtoFile {
  readonly name: string;
  readonly dependencies: readonly string[];
  readonly bytes: Uint8Array;
}

/** FieldDescriptorProto.Type numbers of the scalar types. */
const SCALAR: Record<string, number> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const MESSAGE = 11;
const ENUM = 14;
const OPTIONAL = 1;
const REPEATED = 3;

/** protoc's JSON name of a field: underscores dropped, the letter after each one upper-cased. */
function jsonName(name: string): string {
  return name.replace(/_+([a-z0-9])?/g, (_, c: string | undefined) => c ? c.toUpperCase() : "");
}

/** The well-known types protobufjs bundles carry no file name; this maps each to its file. */
function bundledFiles(): Map<string, string> {
  interface Json {
    nested?: Record<string, Json>;
    fields?: unknown;
    values?: unknown;
  }
  const files = new Map<string, string>();
  const common = protobuf.common as unknown as Record<string, Json>;
  const visit = (json: Json, prefix: string, file: string) => {
    for (const [name, child] of Object.entries(json.nested ?? {})) {
      const fullName = `${prefix}.${name}`;
      if (child.fields || child.values) files.set(fullName, file);
      visit(child, fullName, file);
    }
  };
  for (const file of Object.keys(common)) {
    if (file.endsWith(".proto")) visit(common[file], "", file);
  }
  return files;
}

/** The descriptors of a set of .proto files, indexed by file name and by the symbols they define. */
export class ProtoFiles {
  readonly #files = new Map<string, ProtoFile>();
  /** Fully qualified symbol (no leading dot) to the name of the file defining it. */
  readonly #symbols = new Map<string, string>();

  /**
   * Parses every `.proto` file in `dir` and the well-known types they import.
   *
   * @param dir A folder of .proto files; imports resolve against it.
   * @throws An Error naming the file when one does not parse or names an unknown type.
   */
  constructor(dir: string) {
    const base = dir.endsWith("/") ? dir : dir + "/";
    const names = [...Deno.readDirSync(base)]
      .filter((e) => e.isFile && e.name.endsWith(".proto"))
      .map((e) => e.name)
      .sort();
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => target.startsWith("/") ? target : base + target;
    root.loadSync(names, { keepCase: true });
    root.resolveAll();
    const bundled = bundledFiles();
    const fileOf = (obj: protobuf.ReflectionObject): string => {
      const name = obj.filename ?? bundled.get(obj.fullName);
      if (!name) throw new Error(`cannot tell which .proto file defines ${obj.fullName}`);
      return name.startsWith(base) ? name.slice(base.length) : name;
    };
    const protos = new Map<string, FileProto>();
    const fileProto = (name: string, pkg: string): FileProto => {
      let f = protos.get(name);
      if (!f) {
        f = {
          name,
          package: pkg,
          dependency: [],
          messageType: [],
          enumType: [],
          service: [],
          syntax: "proto3",
        };
        protos.set(name, f);
      }
      return f;
    };
    const needs = (file: FileProto, target: protobuf.ReflectionObject) => {
      const dep = fileOf(target);
      if (dep !== file.name && !file.dependency.includes(dep)) file.dependency.push(dep);
    };

    const visit = (ns: protobuf.NamespaceBase, pkg: string) => {
      for (const obj of ns.nestedArray) {
        if (obj instanceof protobuf.Type) {
          const file = fileProto(fileOf(obj), pkg);
          file.messageType.push(this.#message(obj, file, needs));
        } else if (obj instanceof protobuf.Enum) {
          const file = fileProto(fileOf(obj), pkg);
          file.enumType.push(this.#enum(obj, file));
        } else if (obj instanceof protobuf.Service) {
          const file = fileProto(fileOf(obj), pkg);
          file.service.push(this.#service(obj, file, needs));
        } else if (obj instanceof protobuf.Namespace) {
          visit(obj, pkg === "" ? obj.name : `${pkg}.${obj.name}`);
        }
      }
    };
    visit(root, "");
    for (const f of protos.values()) {
      const bytes = descriptor.FileDescriptorProto.encode(descriptor.FileDescriptorProto.fromObject(f))
        .finish();
      this.#files.set(f.name, { name: f.name, dependencies: f.dependency, bytes });
    }
  }

  #define(file: FileProto, symbol: string): void {
    this.#symbols.set(symbol.replace(/^\./, ""), file.name);
  }

  #message(
    type: protobuf.Type,
    file: FileProto,
    needs: (file: FileProto, target: protobuf.ReflectionObject) => void,
  ): unknown {
    this.#define(file, type.fullName);
    const nestedType: unknown[] = [];
    const enumType: unknown[] = [];
    const oneofs = type.oneofsArray;
    const field = type.fieldsArray.map((f) => {
      this.#define(file, f.fullName);
      const out: Record<string, unknown> = { name: f.name, number: f.id, jsonName: jsonName(f.name) };
      if (f instanceof protobuf.MapField) {
        // A map is a repeated message of a synthetic nested "<Name>Entry" type with key and value.
        const entry = f.name.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase()) + "Entry";
        const value = this.#fieldType(f.type, f.resolvedType, file, needs);
        nestedType.push({
          name: entry,
          field: [
            { name: "key", number: 1, label: OPTIONAL, type: SCALAR[f.keyType], jsonName: "key" },
            { name: "value", number: 2, label: OPTIONAL, jsonName: "value", ...value },
          ],
          options: { mapEntry: true },
        });
        return { ...out, label: REPEATED, type: MESSAGE, typeName: `${type.fullName}.${entry}` };
      }
      Object.assign(out, this.#fieldType(f.type, f.resolve().resolvedType, file, needs));
      out.label = f.repeated ? REPEATED : OPTIONAL;
      if (f.partOf) out.oneofIndex = oneofs.indexOf(f.partOf);
      if (f.options?.proto3_optional) out.proto3Optional = true;
      return out;
    });
    for (const obj of type.nestedArray) {
      if (obj instanceof protobuf.Type) nestedType.push(this.#message(obj, file, needs));
      else if (obj instanceof protobuf.Enum) enumType.push(this.#enum(obj, file));
    }
    return { name: type.name, field, nestedType, enumType, oneofDecl: oneofs.map((o) => ({ name: o.name })) };
  }

  #fieldType(
    typeName: string,
    resolved: protobuf.Type | protobuf.Enum | null,
    file: FileProto,
    needs: (file: FileProto, target: protobuf.ReflectionObject) => void,
  ): Record<string, unknown> {
    if (!resolved) return { type: SCALAR[typeName] };
    needs(file, resolved);
    return { type: resolved instanceof protobuf.Enum ? ENUM : MESSAGE, typeName: resolved.fullName };
  }

  #enum(e: protobuf.Enum, file: FileProto): unknown {
    this.#define(file, e.fullName);
    return { name: e.name, value: Object.entries(e.values).map(([name, number]) => ({ name, number })) };
  }

  #service(
    s: protobuf.Service,
    file: FileProto,
    needs: (file: FileProto, target: protobuf.ReflectionObject) => void,
  ): unknown {
    this.#define(file, s.fullName);
    const method = s.methodsArray.map((m) => {
      m.resolve();
      this.#define(file, m.fullName);
      const input = m.resolvedRequestType!, output = m.resolvedResponseType!;
      needs(file, input);
      needs(file, output);
      // Unset rather than false when not streaming, as protoc writes it.
      return {
        name: m.name,
        inputType: input.fullName,
        outputType: output.fullName,
        ...(m.requestStream ? { clientStreaming: true } : {}),
        ...(m.responseStream ? { serverStreaming: true } : {}),
      };
    });
    return { name: s.name, method };
  }

  /** The file of this name, e.g. "groupcache.proto". */
  file(name: string): ProtoFile | undefined {
    return this.#files.get(name);
  }

  /** The file defining a fully qualified symbol (service, method, message, field or enum). */
  fileDefining(symbol: string): ProtoFile | undefined {
    const name = this.#symbols.get(symbol.replace(/^\./, ""));
    return name === undefined ? undefined : this.#files.get(name);
  }

  /** Every file's name. */
  names(): string[] {
    return [...this.#files.keys()];
  }
}
