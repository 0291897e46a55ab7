/**
 * Interactive slice viewer for per-case investigation: one HTML snippet (needs plotly.js on the
 * page, see html.ts) with a slice slider, view (axial / coronal / sagittal), layer (CT, ground
 * truth, prediction, difference) and structure-outline toggles. Volumes are embedded quantised
 * (CT int16 HU, dose uint16 in cGy, masks as a uint16 bit field) and strided down to at most
 * `maxVoxels` so the notebook stays small. Orientation and physical aspect follow slices.ts.
 */
import type { Shape3 } from '../data/case';
import type { ZDirection } from './slices';
import { structureStyle, DIFF_COLORSCALE, DOSE_COLORSCALE, CT_WINDOW, FONT_FAMILY } from './style';
import { scriptSafeJson } from './html';

export interface SliceViewerInput {
  caseId: string;
  shape: Shape3;
  spacingMm: Shape3;
  ct: ArrayLike<number>;
  gt?: ArrayLike<number> | null;
  pred?: ArrayLike<number> | null;
  masks?: Map<string, ArrayLike<number>>;
  rxGy: number;
  zDirection?: ZDirection;
  /** extra scalar volume (e.g. a gamma map), shown as its own layer */
  extra?: { name: string; values: ArrayLike<number>; max: number } | null;
}

function b64(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** stride per axis so the strided volume has at most maxVoxels */
export function viewerStride(shape: Shape3, maxVoxels: number): number {
  let s = 1;
  while (Math.ceil(shape[0] / s) * Math.ceil(shape[1] / s) * Math.ceil(shape[2] / s) > maxVoxels) s++;
  return s;
}

/**
 * The interactive slice viewer of a case as one HTML snippet: volumes (Y, X, Z) C order, doses
 * in Gy (shown above `thresholdGy`), spacing in mm, strided down to at most `maxVoxels`.
 */
export function sliceViewerHtml(v: SliceViewerInput, opts: { maxVoxels?: number; thresholdGy?: number } = {}): string {
  const s = viewerStride(v.shape, opts.maxVoxels ?? 1_500_000);
  const [ny, nx, nz] = v.shape;
  const dy = Math.ceil(ny / s),
    dx = Math.ceil(nx / s),
    dz = Math.ceil(nz / s);
  const n = dy * dx * dz;
  const ct = new Int16Array(n);
  const gt = v.gt ? new Uint16Array(n) : null;
  const pred = v.pred ? new Uint16Array(n) : null;
  const extra = v.extra ? new Uint16Array(n) : null;
  const names = [...(v.masks?.keys() ?? [])].slice(0, 16);
  const bits = new Uint16Array(n);
  const cgy = (x: number) => Math.max(0, Math.min(65535, Math.round(x * 100)));
  let o = 0;
  for (let y = 0; y < ny; y += s)
    for (let x = 0; x < nx; x += s)
      for (let z = 0; z < nz; z += s, o++) {
        const i = (y * nx + x) * nz + z;
        ct[o] = Math.max(-32768, Math.min(32767, Math.round(v.ct[i])));
        if (gt) gt[o] = cgy(v.gt![i]);
        if (pred) pred[o] = cgy(v.pred![i]);
        if (extra) extra[o] = cgy(v.extra!.values[i]);
        let b = 0;
        names.forEach((nm, k) => {
          if (v.masks!.get(nm)![i]) b |= 1 << k;
        });
        bits[o] = b;
      }
  const id = `vmat-viewer-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const payload = {
    id,
    caseId: v.caseId,
    shape: [dy, dx, dz],
    spacing: v.spacingMm.map((x) => x * s),
    stride: s,
    supUp: (v.zDirection ?? 'inferior-to-superior') === 'inferior-to-superior',
    rx: v.rxGy,
    threshold: opts.thresholdGy ?? 5,
    ctWindow: CT_WINDOW,
    doseScale: DOSE_COLORSCALE,
    diffScale: DIFF_COLORSCALE,
    font: FONT_FAMILY,
    ct: b64(ct),
    gt: gt && b64(gt),
    pred: pred && b64(pred),
    extra: extra && { name: v.extra!.name, max: v.extra!.max, data: b64(extra) },
    structures: names.map((nm, k) => ({ name: nm, bit: k, color: structureStyle(nm, k).color })),
  };
  const layers = [
    'CT only',
    ...(gt ? ['Ground truth dose'] : []),
    ...(pred ? ['Predicted dose'] : []),
    ...(gt && pred ? ['Difference (pred − GT)'] : []),
    ...(extra ? [v.extra!.name] : []),
  ];
  return `<div id="${id}" style="font-family:${FONT_FAMILY};font-size:13px">
<div style="display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin-bottom:6px">
<b>${v.caseId}</b>
<label>View <select data-k="view"><option>axial</option><option>coronal</option><option>sagittal</option></select></label>
<label>Layer <select data-k="layer">${layers.map((l) => `<option>${l}</option>`).join('')}</select></label>
<label>Slice <input data-k="slice" type="range" min="0" max="1" value="0" style="width:260px"> <span data-k="slicelabel"></span></label>
</div>
<div data-k="structs" style="display:flex;flex-wrap:wrap;gap:10px;margin-bottom:6px">${names.map((nm, k) => `<label style="color:${structureStyle(nm, k).color}"><input type="checkbox" data-bit="${k}" ${/^PTV|Rectum|Bladder/.test(nm) ? 'checked' : ''}>${nm}</label>`).join('')}</div>
<div data-k="plot" style="width:760px;height:640px"></div>
${s > 1 ? `<div style="color:#777;font-size:11px">volume shown at stride ${s} (every ${s}th voxel) to keep the notebook small</div>` : ''}
</div>
<script type="text/javascript">(function(){var P=${scriptSafeJson(payload)};
function dec(b,T){var s=atob(b),u=new Uint8Array(s.length);for(var i=0;i<s.length;i++)u[i]=s.charCodeAt(i);return new T(u.buffer)}
var ny=P.shape[0],nx=P.shape[1],nz=P.shape[2];
var V={ct:dec(P.ct,Int16Array),gt:P.gt&&dec(P.gt,Uint16Array),pred:P.pred&&dec(P.pred,Uint16Array),extra:P.extra&&dec(P.extra.data,Uint16Array),bits:dec(${scriptSafeJson(b64(bits))},Uint16Array)};
var root=document.getElementById(P.id);function q(k){return root.querySelector('[data-k="'+k+'"]')}
function at(a,y,x,z){return a[(y*nx+x)*nz+z]}
function sl(view,k,f){var W,H,r=[],y,x,z;
 if(view==='axial'){for(y=0;y<ny;y++){var row=[];for(x=0;x<nx;x++)row.push(f(y,x,k));r.push(row)}W=nx;H=ny}
 else if(view==='coronal'){for(z=0;z<nz;z++){var row2=[];for(x=0;x<nx;x++)row2.push(f(k,x,z));r.push(row2)}}
 else{for(z=0;z<nz;z++){var row3=[];for(y=0;y<ny;y++)row3.push(f(y,k,z));r.push(row3)}}
 return r}
function ax(n,sp){var a=[];for(var i=0;i<n;i++)a.push(Math.round(i*sp*10)/10);return a}
function geom(view){var sp=P.spacing;
 if(view==='axial')return{n:nz,x:ax(nx,sp[1]),y:ax(ny,sp[0]),xl:'Patient right → left (mm)',yl:'Anterior → Posterior (mm)',rev:true};
 var zl=P.supUp?'Inferior → Superior (mm)':'Superior → Inferior (mm)';
 if(view==='coronal')return{n:ny,x:ax(nx,sp[1]),y:ax(nz,sp[2]),xl:'Patient right → left (mm)',yl:zl,rev:!P.supUp};
 return{n:nx,x:ax(ny,sp[0]),y:ax(nz,sp[2]),xl:'Anterior → Posterior (mm)',yl:zl,rev:!P.supUp}}
var state={view:'axial',layer:q('layer').value,k:-1};
function draw(){var g=geom(state.view),sld=q('slice');sld.max=g.n-1;if(state.k<0||state.k>g.n-1)state.k=Math.floor(g.n/2);sld.value=state.k;
 q('slicelabel').textContent=(state.k*P.stride)+' / '+((g.n-1)*P.stride);
 var T=P.threshold*100,L=state.layer,tr=[{type:'heatmap',x:g.x,y:g.y,z:sl(state.view,state.k,function(y,x,z){return at(V.ct,y,x,z)}),colorscale:[[0,'#000'],[1,'#fff']],zmin:P.ctWindow[0],zmax:P.ctWindow[1],showscale:false,hoverinfo:'skip'}];
 if(L==='Ground truth dose'||L==='Predicted dose'){var a=L==='Predicted dose'?V.pred:V.gt;tr.push({type:'heatmap',x:g.x,y:g.y,z:sl(state.view,state.k,function(y,x,z){var d=at(a,y,x,z);return d>=T?d/100:null}),colorscale:P.doseScale,zmin:0,zmax:1.1*P.rx,opacity:0.6,colorbar:{title:{text:'Dose (Gy)'}},hovertemplate:'%{z:.1f} Gy<extra></extra>'})}
 else if(L==='Difference (pred − GT)'){var lim=0;var zz=sl(state.view,state.k,function(y,x,z){var p=at(V.pred,y,x,z),t=at(V.gt,y,x,z);if(p<T&&t<T)return null;var d=(p-t)/100;lim=Math.max(lim,Math.abs(d));return d});lim=Math.max(1,Math.min(30,lim));
  tr.push({type:'heatmap',x:g.x,y:g.y,z:zz,colorscale:P.diffScale,zmin:-lim,zmax:lim,zmid:0,opacity:0.75,colorbar:{title:{text:'Pred − GT (Gy)'}},hovertemplate:'%{z:.2f} Gy<extra></extra>'})}
 else if(P.extra&&L===P.extra.name){tr.push({type:'heatmap',x:g.x,y:g.y,z:sl(state.view,state.k,function(y,x,z){var d=at(V.extra,y,x,z)/100;return d>0?d:null}),colorscale:'Cividis',zmin:0,zmax:P.extra.max,opacity:0.75,colorbar:{title:{text:P.extra.name}}})}
 root.querySelectorAll('[data-bit]').forEach(function(cb){if(!cb.checked)return;var b=1<<Number(cb.getAttribute('data-bit'));var st=P.structures[Number(cb.getAttribute('data-bit'))];
  tr.push({type:'contour',x:g.x,y:g.y,z:sl(state.view,state.k,function(y,x,z){return (at(V.bits,y,x,z)&b)?1:0}),contours:{start:0.5,end:0.5,size:1,coloring:'lines'},line:{color:st.color,width:2},showscale:false,name:st.name,hoverinfo:'name'})});
 Plotly.react(q('plot'),tr,{font:{family:P.font,size:12},margin:{l:70,r:20,t:30,b:60},xaxis:{title:{text:g.xl},constrain:'domain'},yaxis:{title:{text:g.yl},scaleanchor:'x',scaleratio:1,constrain:'domain',autorange:g.rev?'reversed':true},showlegend:false,title:{text:P.caseId+' — '+state.view+' slice '+(state.k*P.stride)}},{displaylogo:false})}
q('view').onchange=function(e){state.view=e.target.value;state.k=-1;draw()};q('layer').onchange=function(e){state.layer=e.target.value;draw()};
q('slice').oninput=function(e){state.k=Number(e.target.value);draw()};root.querySelectorAll('[data-bit]').forEach(function(cb){cb.onchange=draw});
(function wait(n){if(window.Plotly)draw();else if(n<400)setTimeout(function(){wait(n+1)},50)})(0);})();</script>`;
}
