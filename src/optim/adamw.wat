;; The AdamW update with a per-tensor ROSE mask, four float32 lanes at a time (SIMD). Every operation
;; rounds to float32 as torch's does. The caller copies a chunk of each array into this memory (one region
;; per array, `stride` bytes apart), runs `update`, and copies params and moments back.
;;   g  = grad*scale*m + exp_avg*(1-m)                    (scale: the gradient-clipping coefficient)
;;   exp_avg    = b1*exp_avg + c1*g
;;   exp_avg_sq = b2*exp_avg_sq + c2*g*g
;;   p  = p + neg_step * (exp_avg*m / (sqrt(exp_avg_sq) + eps))
;;   p  = p + neg_decay * (p*m)
;; Regions: params at 0, grads at stride, exp_avg at 2*stride, exp_avg_sq at 3*stride.
(module
  (memory (export "memory") 32)
  (func (export "update")
    (param $bytes i32) (param $stride i32)
    (param $scale f32) (param $m f32) (param $om f32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32)
    (param $eps f32) (param $negStep f32) (param $negDecay f32)
    (local $i i32) (local $pg i32) (local $pm i32) (local $pv i32)
    (local $vs v128) (local $vm v128) (local $vom v128) (local $vb1 v128) (local $vc1 v128)
    (local $vb2 v128) (local $vc2 v128) (local $veps v128) (local $vstep v128) (local $vdecay v128)
    (local $g v128) (local $a v128) (local $v v128) (local $p v128)
    (local.set $pg (local.get $stride))
    (local.set $pm (i32.add (local.get $stride) (local.get $stride)))
    (local.set $pv (i32.add (local.get $pm) (local.get $stride)))
    (local.set $vs (f32x4.splat (local.get $scale)))
    (local.set $vm (f32x4.splat (local.get $m)))
    (local.set $vom (f32x4.splat (local.get $om)))
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vc1 (f32x4.splat (local.get $c1)))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $vstep (f32x4.splat (local.get $negStep)))
    (local.set $vdecay (f32x4.splat (local.get $negDecay)))
    (block $done
      (br_if $done (i32.eqz (local.get $bytes)))
      (loop $next
        (local.set $a (v128.load (i32.add (local.get $pm) (local.get $i))))
        (local.set $g
          (f32x4.add
            (f32x4.mul (f32x4.mul (v128.load (i32.add (local.get $pg) (local.get $i))) (local.get $vs)) (local.get $vm))
            (f32x4.mul (local.get $a) (local.get $vom))))
        (local.set $a (f32x4.add (f32x4.mul (local.get $vb1) (local.get $a)) (f32x4.mul (local.get $vc1) (local.get $g))))
        (local.set $v
          (f32x4.add
            (f32x4.mul (local.get $vb2) (v128.load (i32.add (local.get $pv) (local.get $i))))
            (f32x4.mul (f32x4.mul (local.get $vc2) (local.get $g)) (local.get $g))))
        (v128.store (i32.add (local.get $pm) (local.get $i)) (local.get $a))
        (v128.store (i32.add (local.get $pv) (local.get $i)) (local.get $v))
        (local.set $p
          (f32x4.add
            (v128.load (local.get $i))
            (f32x4.mul (local.get $vstep)
              (f32x4.div (f32x4.mul (local.get $a) (local.get $vm)) (f32x4.add (f32x4.sqrt (local.get $v)) (local.get $veps))))))
        (v128.store (local.get $i)
          (f32x4.add (local.get $p) (f32x4.mul (local.get $vdecay) (f32x4.mul (local.get $p) (local.get $vm)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $bytes))))))
)
