"""What operators watch: service metrics from the database, the 办不成事 channel, evaluation history
and the service's own Prometheus metrics."""
