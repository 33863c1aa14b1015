module github.com/sluice-cdc/sluice

go 1.26
