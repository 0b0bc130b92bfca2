package service

import (
	"crypto/tls"
	"fmt"

	"github.com/quire-print/quire/internal/certfile"
)

// AMQPTLS returns the TLS settings for an amqps:// broker whose
// certificate is checked against the authorities in caFile, or nil (the
// system's authorities) when caFile is empty.
func AMQPTLS(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pool, err := certfile.Pool(caFile)
	if err != nil {
		return nil, fmt.Errorf("service: AMQP CA file: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}
