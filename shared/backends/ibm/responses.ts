/**
 * The parts of IBM Quantum's REST answers qpipe reads, as schemas: each answer is parsed
 * (other fields pass), so a changed API fails with the path and field instead of a wrong
 * value later. Shapes from https://quantum.cloud.ibm.com/docs/api/runtime.
 */
import { type Static, Type } from '@sinclair/typebox';

/** IAM's token exchange. */
export const IamToken = Type.Object({
  access_token: Type.String({ minLength: 1 }),
  expiration: Type.Optional(Type.Number()),
  expires_in: Type.Optional(Type.Number()),
});

/** GET /v1/backends/{id}/status. */
export const BackendStatus = Type.Object({
  state: Type.Optional(Type.Boolean()),
  status: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  length_queue: Type.Optional(Type.Integer({ minimum: 0 })),
});

/** A job as POST /v1/jobs, GET /v1/jobs/{id} and GET /v1/jobs?tags= describe it. */
export const Job = Type.Object({
  id: Type.String({ minLength: 1 }),
  status: Type.Optional(Type.String()),
  state: Type.Optional(Type.Object({ status: Type.Optional(Type.String()), reason: Type.Optional(Type.String()) })),
});
export type Job = Static<typeof Job>;

/** GET /v1/jobs?tags=…. */
export const JobList = Type.Object({ jobs: Type.Optional(Type.Array(Job)) });

/** GET /v1/jobs/{id}/metrics. */
export const JobMetrics = Type.Object({
  usage: Type.Optional(
    Type.Object({ quantum_seconds: Type.Optional(Type.Number()), seconds: Type.Optional(Type.Number()) }),
  ),
  timestamps: Type.Optional(
    Type.Object({
      created: Type.Optional(Type.String()),
      running: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      finished: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    }),
  ),
});

/** The parts of a backend's configuration transpilation uses (GET /v1/backends/{id}/configuration). */
export const BackendConfiguration = Type.Object({
  n_qubits: Type.Optional(Type.Integer({ minimum: 1 })),
  basis_gates: Type.Optional(Type.Array(Type.String())),
  coupling_map: Type.Optional(Type.Array(Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 0 })]))),
});

/** GET /v1/jobs/{id}/results of a sampler job: per register, each shot's bits as hex. */
export const SamplerResults = Type.Object({
  results: Type.Optional(
    Type.Array(
      Type.Object({
        data: Type.Optional(
          Type.Record(
            Type.String(),
            Type.Object({
              samples: Type.Optional(Type.Array(Type.String())),
              num_bits: Type.Optional(Type.Integer()),
            }),
          ),
        ),
      }),
    ),
  ),
});

/** POST /v1/sessions and GET /v1/sessions/{id}. */
export const Session = Type.Object({
  id: Type.String({ minLength: 1 }),
  state: Type.Optional(Type.String()),
  accepting_jobs: Type.Optional(Type.Boolean()),
});
