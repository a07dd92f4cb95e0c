#!/bin/sh
# Generates Sources/DNSFlowAgent/Dnstap/dnstap.pb.swift from proto/dnstap.proto (Debian's
# golang-github-dnstap-golang-dnstap-dev ships the file). Run once when the .proto changes; the
# output is committed, so builds need neither protoc nor the plugin.
#   apt-get install protobuf-compiler
#   git clone --branch 1.39.0 /opt/swift-packages/apple/swift-protobuf.git /tmp/swift-protobuf
#   (cd /tmp/swift-protobuf && swift build --product protoc-gen-swift)
#   PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/debug/protoc-gen-swift scripts/gen-dnstap-proto.sh
set -eu
cd "$(dirname "$0")/.."
protoc --plugin=protoc-gen-swift="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}" \
    --swift_out=Sources/DNSFlowAgent/Dnstap --swift_opt=Visibility=Internal -I proto proto/dnstap.proto
