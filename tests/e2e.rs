//! End-to-end scenarios: the real `voiceappoint` binary over HTTP against real Postgres and NATS.
