package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/redisconn"
	"github.com/contiple/contiple-worker/ticket"
)

// app is what every command shares: flags, the output, and lazily opened resources.
type app struct {
	configPath string
	json       bool
	out        io.Writer
	log        *slog.Logger
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the first signal stops gracefully; a second one ends the process at once
	}()
	err := newRoot(os.Stdout).ExecuteContext(ctx)
	stop()
	if err != nil {
		// One clear line; details of a multi-problem config come on the following lines.
		fmt.Fprintln(os.Stderr, "contiple-worker: "+err.Error())
		os.Exit(1)
	}
}

func newRoot(out io.Writer) *cobra.Command {
	a := &app{out: out, log: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))}
	root := &cobra.Command{
		Use:           "contiple-worker",
		Short:         "Helpdesk integration worker: mail in, mail out, Dooray! sync",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.PersistentFlags().StringVar(&a.configPath, "config", os.Getenv("CONTIPLE_CONFIG"), "configuration file (env CONTIPLE_CONFIG)")
	root.PersistentFlags().BoolVar(&a.json, "json", false, "print JSON instead of text")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fmt.Errorf("%w (see --help)", err) })
	root.AddCommand(a.serveCmd(), a.migrateCmd(), a.configCmd(), a.ticketCmd(), a.mailCmd(), a.mailboxCmd(), a.outboxCmd(), a.doorayCmd(), a.demoCmd())
	return root
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("CONTIPLE_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

func (a *app) loadConfig() (*config.Config, error) {
	if a.configPath == "" {
		return nil, errors.New("no configuration: give --config FILE or set CONTIPLE_CONFIG")
	}
	c, err := config.Load(a.configPath)
	var ps config.Problems
	if errors.As(err, &ps) {
		return nil, fmt.Errorf("%s has %d problem(s):\n%v", a.configPath, len(ps), err)
	}
	return c, err
}

func (a *app) openPool(ctx context.Context) (*pgxpool.Pool, error) {
	pool, err := newPool()
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return pool, nil
}

// newPool is the pool of CONTIPLE_DATABASE_URL; it connects when first used.
func newPool() (*pgxpool.Pool, error) {
	url := os.Getenv("CONTIPLE_DATABASE_URL")
	if url == "" {
		return nil, errors.New("CONTIPLE_DATABASE_URL is not set")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("CONTIPLE_DATABASE_URL: %w", err)
	}
	// pgx's default (4 on a small machine) is below the workers' concurrency:
	// a mail being sent holds a connection for its SMTP session.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 25
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return pool, nil
}

// redisFromEnv is asynq's connection and a client of CONTIPLE_REDIS_URL.
func redisFromEnv() (asynq.RedisConnOpt, redis.UniversalClient, error) {
	url := os.Getenv("CONTIPLE_REDIS_URL")
	if url == "" {
		return nil, nil, errors.New("CONTIPLE_REDIS_URL is not set")
	}
	opt, err := redisconn.Parse(url)
	if err != nil {
		return nil, nil, fmt.Errorf("CONTIPLE_REDIS_URL: %w", err)
	}
	rdb, err := redisconn.Client(opt)
	if err != nil {
		return nil, nil, fmt.Errorf("CONTIPLE_REDIS_URL: %w", err)
	}
	return opt, rdb, nil
}

// openStore opens the database and the ticket store with the masking key, if any.
func (a *app) openStore(ctx context.Context) (*ticket.Store, *pgxpool.Pool, error) {
	pool, err := a.openPool(ctx)
	if err != nil {
		return nil, nil, err
	}
	store, err := storeOn(pool)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return store, pool, nil
}

// storeOn is the ticket store on pool with the masking key, if any.
func storeOn(pool *pgxpool.Pool) (*ticket.Store, error) {
	var sealer *ticket.Sealer
	if key := strings.TrimSpace(os.Getenv("CONTIPLE_MASK_KEY")); key != "" {
		var err error
		if sealer, err = ticket.NewSealer(key); err != nil {
			return nil, fmt.Errorf("CONTIPLE_MASK_KEY: %w", err)
		}
	}
	return ticket.NewStore(pool, sealer), nil
}
