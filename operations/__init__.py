"""What operators watch and keep: service metrics from the database, charts and exports, evaluation
history, the Prometheus exposition, and backups."""
