package main

import (
	"time"
	_ "time/tzdata" // as in the services: Dutch calendar days on hosts without zoneinfo
)

// amsterdam is the time zone the services judge calendar dates in ("not before the intake was
// received", "not in the future").
var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}()

// nowNL is now on the Dutch calendar. Tests that send dates use it: between 23:00 and 24:00
// UTC (22:00 in summer) time.Now() still gives yesterday's date where the services already see
// tomorrow's, and requests dated "today" were refused as before the record's own date.
func nowNL() time.Time { return time.Now().In(amsterdam) }
