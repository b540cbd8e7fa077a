// Package validate holds the offline check of the Kubernetes manifests in deploy/: it renders
// every overlay with the kustomize API, decodes every object strictly into the Kubernetes,
// prometheus-operator and (schema subset) CloudNativePG types, and checks the deployment
// policies and that every setting the services' code has is set. It is its own module so
// that the Kubernetes libraries never enter a service's dependencies.
package validate
