#!/bin/sh
# Regenerates the simulator's output clips (committed; CI never runs this: it has no ffmpeg).
# One clip per expressionIntensity (1-5) and seed modulo 4: the hue and the motion follow the
# intensity, the pattern follows the seed, and each frame is labelled, so a contact sheet of a
# sweep shows distinct tiles. One set per ratio the API accepts, at that ratio's shape, so a render's
# header matches the ratio it was asked for (output checks compare them): 16:9 (1280:720) in this
# folder, the others in <width>x<height>/. Needs Debian's ffmpeg (libx264, drawtext, fonts-dejavu-core).
set -eu
cd "$(dirname "$0")"
font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
# size:folder ("." for the 16:9 set)
for entry in 192x108:. 108x192:108x192 108x108:108x108 144x108:144x108 108x144:108x144 254x108:254x108; do
  size=${entry%%:*}
  dir=${entry#*:}
  width=${size%x*}
  mkdir -p "$dir"
  for ei in 1 2 3 4 5; do
    for v in 0 1 2 3; do
      case $v in
        0) src="testsrc2=size=$size:rate=12" ;;
        1) src="mandelbrot=size=$size:rate=12:start_scale=$((ei * 2))" ;;
        2) src="life=size=$size:rate=12:seed=$ei:mold=10:life_color=#ffcc00:death_color=#202060" ;;
        3) src="cellauto=size=$size:rate=12:rule=$((ei * 20 + 10)):seed=$ei" ;;
      esac
      ffmpeg -hide_banner -loglevel error -y -f lavfi -i "$src" -t 1 \
        -vf "hue=h=$((ei * 72 - 72)):s=$((ei + 1)),drawbox=x='mod(t*$((ei * 60)),$((width - 20)))':y=8:w=20:h=20:color=white@0.9:t=fill,drawtext=fontfile=$font:text='ei$ei s$v':x=8:y=h-30:fontsize=20:fontcolor=white:box=1:boxcolor=black@0.6" \
        -c:v libx264 -preset veryslow -crf 38 -pix_fmt yuv420p -movflags +faststart -an \
        "$dir/ei$ei-s$v.mp4"
    done
  done
done
