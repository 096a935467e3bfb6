module github.com/distroless-dev/distroless

go 1.26
