// Package redisconn turns CONTIPLE_REDIS_URL into asynq's connection options:
// one server, Sentinel or Cluster. Its errors never repeat the password.
package redisconn
