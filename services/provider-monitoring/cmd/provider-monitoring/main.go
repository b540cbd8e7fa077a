// Command provider-monitoring runs the provider-monitoring service: `provider-monitoring
// [serve]` or `provider-monitoring migrate`. Configuration comes from WIJKBRUG_* environment
// variables or the matching flags (-h).
package main

import (
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/service"
)

func main() { svc.Main(service.Spec()) }
