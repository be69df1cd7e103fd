//! Quotidian: a personalized daily market digest.

pub mod backoff;
pub mod clients;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod repositories;
pub mod routers;
pub mod sample_market;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod workers;
