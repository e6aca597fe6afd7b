module faultline.dev/history/peer/porcupine-driver

go 1.18

require github.com/anishathalye/porcupine v0.0.0-00010101000000-000000000000
