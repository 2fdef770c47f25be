/**
 * The shape of a rendered Lilypad module (`lilypad_module.json.tmpl` after rendering): the JSON
 * Schema that `validateModuleSpec` checks with ajv, and the TypeScript types of a valid module.
 *
 * The job part is Lilypad's own copy of Bacalhau's legacy `V1beta1` job model
 * (lilypad-protocol.md §2.2). Where Go's JSON decoder is lenient the schema is too: slices and maps
 * may be `null`, nested structs may be `null` or missing, and string enums are matched without
 * regard to case (the walk in `validate.ts` rewrites them to the spelling listed here before ajv
 * runs). Unknown keys are not schema errors; the walk reports them as warnings.
 */

/** Draft-07 keywords only; `description` on a `pattern` node becomes the error text. */
const STRING = {type: 'string'} as const
const BOOLEAN = {type: 'boolean'} as const
const COUNT = {type: 'integer', minimum: 0} as const
const STRING_LIST = {type: ['array', 'null'], items: STRING} as const
const STRING_MAP = {type: ['object', 'null'], additionalProperties: STRING} as const
/** An object whose keys are free-form (Go `map[string]interface{}`). */
const OPEN_OBJECT = {type: ['object', 'null']} as const

/** Go's `time.Time` accepts RFC 3339 text only. */
const RFC3339 = {
  type: ['string', 'null'],
  pattern: '^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$',
  description: 'an RFC 3339 time such as "0001-01-01T00:00:00Z"',
} as const

/** Bacalhau's storage source names (text enum, matched case-insensitively). */
export const STORAGE_SOURCES = [
  'IPFS',
  'RepoClone',
  'RepoCloneLFS',
  'URLDownload',
  'Estuary',
  'Inline',
  'LocalDirectory',
  'S3',
] as const

/** Bacalhau's engine names (text enum, matched case-insensitively). */
export const ENGINES = ['Noop', 'Docker', 'Wasm'] as const

/** Bacalhau's publisher names (text enum, matched case-insensitively). */
export const PUBLISHERS = ['Noop', 'Ipfs', 'Estuary', 'S3'] as const

/** Bacalhau's network modes (text enum, matched case-insensitively). */
export const NETWORK_TYPES = ['None', 'Full', 'HTTP'] as const

const STORAGE_SPEC = {
  type: ['object', 'null'],
  properties: {
    StorageSource: {type: 'string', enum: STORAGE_SOURCES},
    Name: STRING,
    CID: STRING,
    URL: STRING,
    S3: {
      type: ['object', 'null'],
      properties: {
        Bucket: STRING,
        Key: STRING,
        Checksum: STRING,
        VersionID: STRING,
        Endpoint: STRING,
        Region: STRING,
      },
    },
    Repo: STRING,
    SourcePath: STRING,
    ReadWrite: BOOLEAN,
    Path: STRING,
    Metadata: STRING_MAP,
  },
} as const

const JOB_SPEC = {
  type: 'object',
  properties: {
    Engine: {type: 'string', enum: ENGINES},
    EngineSpec: {type: ['object', 'null'], properties: {Type: STRING, Params: OPEN_OBJECT}},
    Publisher: {type: 'string', enum: PUBLISHERS},
    PublisherSpec: {
      type: ['object', 'null'],
      properties: {Type: {type: 'string', enum: PUBLISHERS}, Params: OPEN_OBJECT},
    },
    Docker: {
      type: ['object', 'null'],
      properties: {
        Image: STRING,
        Entrypoint: STRING_LIST,
        Parameters: STRING_LIST,
        EnvironmentVariables: STRING_LIST,
        WorkingDirectory: STRING,
      },
    },
    Wasm: {
      type: ['object', 'null'],
      properties: {
        EntryModule: STORAGE_SPEC,
        EntryPoint: STRING,
        Parameters: STRING_LIST,
        EnvironmentVariables: STRING_MAP,
        ImportModules: {type: ['array', 'null'], items: STORAGE_SPEC},
      },
    },
    Resources: {
      type: ['object', 'null'],
      properties: {CPU: STRING, Memory: STRING, Disk: STRING, GPU: STRING},
    },
    Network: {
      type: ['object', 'null'],
      properties: {Type: {type: 'string', enum: NETWORK_TYPES}, Domains: STRING_LIST},
    },
    Timeout: COUNT,
    Inputs: {type: ['array', 'null'], items: STORAGE_SPEC},
    Outputs: {type: ['array', 'null'], items: STORAGE_SPEC},
    Annotations: STRING_LIST,
    NodeSelectors: {
      type: ['array', 'null'],
      items: {type: 'object', properties: {Key: STRING, Operator: STRING, Values: STRING_LIST}},
    },
    DoNotTrack: BOOLEAN,
    Deal: {type: ['object', 'null'], properties: {TargetingMode: BOOLEAN, Concurrency: COUNT}},
  },
} as const

/**
 * The JSON Schema (draft-07 subset) of a rendered module. Objects with `properties` list every key
 * Lilypad reads; objects without them (`Params`) are free-form; `additionalProperties` marks maps.
 */
export const MODULE_SCHEMA = {
  type: 'object',
  required: ['machine', 'job'],
  properties: {
    machine: {
      type: 'object',
      properties: {
        gpu: COUNT,
        gpus: {
          type: ['array', 'null'],
          items: {type: 'object', properties: {name: STRING, vendor: STRING, vram: COUNT}},
        },
        cpu: COUNT,
        ram: COUNT,
        disk: COUNT,
      },
    },
    job: {
      type: 'object',
      required: ['Spec'],
      properties: {
        APIVersion: STRING,
        Metadata: {
          type: ['object', 'null'],
          properties: {
            ID: STRING,
            CreatedAt: RFC3339,
            ClientID: STRING,
            Requester: {
              type: ['object', 'null'],
              properties: {RequesterNodeID: STRING, RequesterPublicKey: {type: ['string', 'null']}},
            },
          },
        },
        Spec: JOB_SPEC,
      },
    },
    executionTimeoutSeconds: COUNT,
    inputFiles: {type: ['object', 'null'], properties: {required: STRING_LIST, optional: STRING_LIST}},
    author: {type: ['object', 'null'], properties: {name: STRING, avatar: STRING, address: STRING}},
    description: STRING,
    image: STRING,
    model: {
      type: ['object', 'null'],
      properties: {name: STRING, type: STRING, size: {type: ['string', 'number']}},
    },
  },
} as const

/** A schema node as the key walk in `validate.ts` reads it. */
export interface SchemaNode {
  readonly type?: string | readonly string[]
  readonly properties?: {readonly [key: string]: SchemaNode}
  readonly additionalProperties?: SchemaNode | boolean
  readonly items?: SchemaNode
  readonly enum?: readonly string[]
  readonly required?: readonly string[]
  readonly pattern?: string
  readonly description?: string
  readonly minimum?: number
}

// ---- TypeScript view of a valid module --------------------------------------------------------

/** Bacalhau storage spec (inputs, outputs, Wasm modules). Every field is optional. */
export interface StorageSpec {
  StorageSource?: (typeof STORAGE_SOURCES)[number]
  Name?: string
  CID?: string
  URL?: string
  S3?: {
    Bucket?: string
    Key?: string
    Checksum?: string
    VersionID?: string
    Endpoint?: string
    Region?: string
  } | null
  Repo?: string
  SourcePath?: string
  ReadWrite?: boolean
  Path?: string
  Metadata?: Record<string, string> | null
}

/** `Spec.Docker`: the only engine section current Lilypad resource providers run. */
export interface DockerSpec {
  Image?: string
  Entrypoint?: string[] | null
  Parameters?: string[] | null
  /** `KEY=VALUE` strings. */
  EnvironmentVariables?: string[] | null
  WorkingDirectory?: string
}

/** `Spec.Wasm`: a WASI module and how to call it. */
export interface WasmSpec {
  EntryModule?: StorageSpec | null
  /** Defaults to `_start`. */
  EntryPoint?: string
  Parameters?: string[] | null
  EnvironmentVariables?: Record<string, string> | null
  ImportModules?: (StorageSpec | null)[] | null
}

/** `job.Spec`: Bacalhau's legacy job spec as Lilypad reads it. */
export interface JobSpec {
  Engine?: (typeof ENGINES)[number]
  EngineSpec?: {Type?: string; Params?: Record<string, unknown> | null} | null
  Publisher?: (typeof PUBLISHERS)[number]
  PublisherSpec?: {Type?: (typeof PUBLISHERS)[number]; Params?: Record<string, unknown> | null} | null
  Docker?: DockerSpec | null
  Wasm?: WasmSpec | null
  /** Strings such as `"1"`, `"16Gb"`. */
  Resources?: {CPU?: string; Memory?: string; Disk?: string; GPU?: string} | null
  Network?: {Type?: (typeof NETWORK_TYPES)[number]; Domains?: string[] | null} | null
  /** Seconds. */
  Timeout?: number
  Inputs?: (StorageSpec | null)[] | null
  Outputs?: (StorageSpec | null)[] | null
  Annotations?: string[] | null
  NodeSelectors?: {Key?: string; Operator?: string; Values?: string[] | null}[] | null
  DoNotTrack?: boolean
  Deal?: {TargetingMode?: boolean; Concurrency?: number} | null
}

/** `machine`: the minimum hardware, hoisted into the job offer and used for matching. */
export interface MachineSpec {
  /** GPU count. */
  gpu?: number
  gpus?: {name?: string; vendor?: string; vram?: number}[] | null
  /** Milli-CPU (1000 = one core). */
  cpu?: number
  /** Megabytes. */
  ram?: number
  disk?: number
}

/** A rendered, valid Lilypad module. */
export interface ModuleSpec {
  machine: MachineSpec
  job: {
    APIVersion?: string
    Metadata?: {
      ID?: string
      CreatedAt?: string | null
      ClientID?: string
      Requester?: {RequesterNodeID?: string; RequesterPublicKey?: string | null} | null
    } | null
    Spec: JobSpec
  }
  /** Per-module execution timeout (Lilypad v2.22+); 0 or absent means the solver's default. */
  executionTimeoutSeconds?: number
  /** Files the job creator must (or may) upload with `--inputs-path` (Lilypad v2.19+). */
  inputFiles?: {required?: string[] | null; optional?: string[] | null} | null
  author?: {name?: string; avatar?: string; address?: string} | null
  description?: string
  /** URL of an illustration. */
  image?: string
  model?: {name?: string; type?: string; size?: string | number} | null
}
