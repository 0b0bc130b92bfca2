// Package promgroup offers several Prometheus collectors as one, for a
// package that keeps its metrics together and hands quire serve a single
// Collector to register.
package promgroup

import "github.com/prometheus/client_golang/prometheus"

// Group is a prometheus.Collector made of the collectors in it.
type Group []prometheus.Collector

// Describe implements prometheus.Collector.
func (g Group) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range g {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (g Group) Collect(ch chan<- prometheus.Metric) {
	for _, c := range g {
		c.Collect(ch)
	}
}
