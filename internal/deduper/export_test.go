package deduper

// UTCTime exposes utcTime to the fuzz test.
var UTCTime = utcTime
