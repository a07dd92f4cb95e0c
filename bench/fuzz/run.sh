#!/bin/sh
# Fuzzes the user-space decoders that read bytes from the network with libFuzzer + ASan:
#   dns_question  DNSQuestion.decode (Sources/DNSFlowCore)
#   dns_answers   DNSAnswerSection.decode (Sources/DNSFlowCore)
#   ipfix         IPFIXStreamFramer + IPFIXDecoder.decode (Sources/DNSFlowIPFIX)
#   dnstap        FrameStreamReader + DnstapMessageDecoder.decode (Sources/DNSFlowAgent/Dnstap)
# SwiftPM has no fuzz product here, so each harness is compiled with the module sources by swiftc.
#   bench/fuzz/run.sh            build them all, run each for FUZZ_TIME seconds (default 30)
#   bench/fuzz/run.sh seeds      regenerate bench/fuzz/seeds/ipfix from the real encoder
#                                (bench/fuzz/make_dnstap_seeds.py writes seeds/dnstap)
# A crash leaves its input in .build/fuzz/<name>-crash-*; exit status non-zero.
set -eu
cd "$(dirname "$0")/../.."
time=${FUZZ_TIME:-30}
out=.build/fuzz
flags="-sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld"
mkdir -p "$out"

# DNSFlowCore as a module (the IPFIX sources import it and have their own internal IPAddress).
swiftc $flags -emit-module -emit-library -static -module-name DNSFlowCore \
    -emit-module-path "$out/DNSFlowCore.swiftmodule" -o "$out/libDNSFlowCore.a" Sources/DNSFlowCore/*.swift

if [ "${1:-}" = seeds ]; then
    swiftc -parse-as-library -O -module-name MakeSeeds -I "$out" -L "$out" -lDNSFlowCore -sanitize=address \
        Sources/DNSFlowIPFIX/*.swift bench/fuzz/make_seeds.swift -o "$out/make_seeds"
    rm -f bench/fuzz/seeds/ipfix/*
    "$out/make_seeds" bench/fuzz/seeds/ipfix
    exit 0
fi

swiftc $flags -module-name FuzzDNSQuestion Sources/DNSFlowCore/*.swift bench/fuzz/dns_question.swift \
    -o "$out/dns_question"
swiftc $flags -module-name FuzzDNSAnswers Sources/DNSFlowCore/*.swift bench/fuzz/dns_answers.swift \
    -o "$out/dns_answers"
swiftc $flags -module-name FuzzIPFIX -I "$out" -L "$out" -lDNSFlowCore \
    Sources/DNSFlowIPFIX/*.swift bench/fuzz/ipfix.swift -o "$out/ipfix"

# SwiftProtobuf as a module, from the checkout `swift build` resolved.
swiftc $flags -emit-module -emit-library -static -module-name SwiftProtobuf -package-name swift_protobuf \
    -emit-module-path "$out/SwiftProtobuf.swiftmodule" -o "$out/libSwiftProtobuf.a" \
    .build/checkouts/swift-protobuf/Sources/SwiftProtobuf/*.swift
swiftc $flags -module-name FuzzDnstap -I "$out" -L "$out" -lDNSFlowCore -lSwiftProtobuf \
    Sources/DNSFlowAgent/Dnstap/FrameStreamReader.swift Sources/DNSFlowAgent/Dnstap/DnstapMessageDecoder.swift \
    Sources/DNSFlowAgent/Dnstap/dnstap.pb.swift bench/fuzz/dnstap.swift -o "$out/dnstap"

for name in dns_question dns_answers ipfix dnstap; do
    mkdir -p "$out/corpus/$name"
    cp bench/fuzz/seeds/$name/* "$out/corpus/$name/"
    # FUZZ_SEED fixes the mutation sequence (CI sets it, so a run is repeatable); unset, each run explores anew.
    "$out/$name" -max_total_time="$time" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 ${FUZZ_SEED:+-seed=$FUZZ_SEED} \
        -artifact_prefix="$out/$name-" "$out/corpus/$name"
done
